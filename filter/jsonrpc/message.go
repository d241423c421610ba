package jsonrpc

import (
	"errors"
	"fmt"

	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// Kind says what a JSON-RPC message is.
type Kind uint8

// The kinds of JSON-RPC message.
const (
	Invalid      Kind = iota // valid JSON, but not a JSON-RPC message
	Request                  // method and id
	Notification             // method, no id
	Response                 // result or error, and id
)

func (k Kind) String() string {
	switch k {
	case Request:
		return "request"
	case Notification:
		return "notification"
	case Response:
		return "response"
	}
	return "invalid"
}

// Span is a half-open byte range [Start, End) of a frame. The zero Span is
// absent.
type Span struct{ Start, End int }

// Present reports whether the member was in the message.
func (s Span) Present() bool { return s.End > s.Start }

// Of returns the bytes of the span in frame.
func (s Span) Of(frame []byte) []byte { return frame[s.Start:s.End] }

// Message is one JSON-RPC message located in a frame. Spans index the frame.
type Message struct {
	Kind Kind
	// Span is the message's own object in the frame.
	Span Span
	// ID is the id member's raw JSON value; it is not Present in a
	// notification.
	ID     Span
	Method string
	Params Span
	Result Span
	Error  Span
	// Ambiguous is set when the message has duplicate envelope members,
	// members that differ from the envelope names only in case, both a
	// method and a result or error, or a non-string method. Clients read
	// such messages in different ways; a filter must not forward them.
	Ambiguous bool

	// Tree is the parsed frame, shared by its messages; Node, IDNode,
	// ParamsNode, ResultNode and ErrorNode are this message's values in it
	// (jsontree.None when absent), so that readers need not parse again.
	Tree                                            *jsontree.Tree
	Node, IDNode, ParamsNode, ResultNode, ErrorNode jsontree.Node
}

// Frame is one parsed frame: a single message, or a batch (JSON array) of
// messages as the 2025-03-26 revision allows.
type Frame struct {
	Batch    bool
	Messages []Message
	Tree     *jsontree.Tree
}

// ErrNotJSONRPC is wrapped by Parse's errors for input that is not a JSON
// object or array of objects.
var ErrNotJSONRPC = errors.New("not a JSON-RPC message")

// MaxDepth bounds how deeply a frame may nest. MCP messages nest a handful
// of levels; a deeper frame is not read (and a server's is withheld).
const MaxDepth = jsontree.DefaultMaxDepth

// Parse locates the messages of one frame. The frame must hold exactly one
// JSON value (surrounding whitespace, including a trailing CR, is allowed):
// an object, or an array of objects. Elements of a batch that are not
// objects are reported as Invalid messages. Strings are not decoded here:
// the parser finds where they end, and readers decode those they need.
func Parse(frame []byte) (Frame, error) {
	t, err := jsontree.Parse(frame, MaxDepth)
	if err != nil {
		if errors.Is(err, jsontree.ErrTooDeep) {
			return Frame{}, fmt.Errorf("%w: nested more than %d levels deep", ErrNotJSONRPC, MaxDepth)
		}
		return Frame{}, fmt.Errorf("%w: %v", ErrNotJSONRPC, err)
	}
	f := Frame{Tree: t}
	switch t.Kind(0) {
	case jsontree.Object:
		f.Messages = []Message{message(t, 0)}
	case jsontree.Array:
		f.Batch = true
		for n := range t.Children(0) {
			f.Messages = append(f.Messages, message(t, n))
		}
	default:
		return Frame{}, fmt.Errorf("%w: a frame must be a JSON object or array", ErrNotJSONRPC)
	}
	return f, nil
}

// envelope names the members message locates; others are skipped.
var envelope = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

func span(t *jsontree.Tree, n jsontree.Node) Span {
	if n == jsontree.None || !t.Complete(n) {
		return Span{}
	}
	s, e := t.Span(n)
	return Span{s, e}
}

// message reads the envelope of the message at node n. In a tree from
// jsontree.ParsePrefix, only the members read to their end count.
func message(t *jsontree.Tree, n jsontree.Node) Message {
	m := Message{Tree: t, Node: n, Span: span(t, n),
		IDNode: jsontree.None, ParamsNode: jsontree.None, ResultNode: jsontree.None, ErrorNode: jsontree.None}
	if t.Kind(n) != jsontree.Object {
		return m // Invalid
	}
	var seen [len(envelope)]bool
	hasMethod := false
	for c := range t.Children(n) {
		if !t.Complete(c) {
			continue
		}
		member := -1
		for i, e := range envelope {
			if t.NameFold(c, e) {
				member = i
				if seen[i] || !t.NameIs(c, e) {
					m.Ambiguous = true
				}
				seen[i] = true
				break
			}
		}
		switch member {
		case 1:
			m.IDNode = c
		case 2:
			hasMethod = true
			if t.Kind(c) != jsontree.String {
				m.Ambiguous = true // a method that is not a string
				continue
			}
			m.Method = t.Str(c)
		case 3:
			m.ParamsNode = c
		case 4:
			m.ResultNode = c
		case 5:
			m.ErrorNode = c
		}
	}
	m.ID, m.Params, m.Result, m.Error = span(t, m.IDNode), span(t, m.ParamsNode), span(t, m.ResultNode), span(t, m.ErrorNode)

	hasResult := m.Result.Present() || m.Error.Present()
	switch {
	case hasMethod && hasResult:
		m.Ambiguous = true
		m.Kind = Invalid
	case hasMethod && m.ID.Present():
		m.Kind = Request
	case hasMethod:
		m.Kind = Notification
	case hasResult && m.ID.Present():
		m.Kind = Response
	default:
		m.Kind = Invalid
	}
	return m
}
