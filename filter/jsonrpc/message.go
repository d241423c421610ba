package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
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
}

// Frame is one parsed frame: a single message, or a batch (JSON array) of
// messages as the 2025-03-26 revision allows.
type Frame struct {
	Batch    bool
	Messages []Message
}

// ErrNotJSONRPC is wrapped by Parse's errors for input that is not a JSON
// object or array of objects.
var ErrNotJSONRPC = errors.New("not a JSON-RPC message")

// The decoder options used for every frame. Duplicate names are allowed
// here because Parse detects them itself (and marks the message Ambiguous)
// rather than failing the whole frame; invalid UTF-8 is allowed because
// clients accept it (encoding/json and TextDecoder replace it), so the
// filter must read, and inspect, what they read.
var decodeOptions = []jsontext.Options{
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
}

var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

func getDecoder(b []byte) *jsontext.Decoder {
	d := decoders.Get().(*jsontext.Decoder)
	d.Reset(bytes.NewBuffer(b), decodeOptions...)
	return d
}

func putDecoder(d *jsontext.Decoder) {
	d.Reset(new(bytes.Buffer)) // drop the reference to the frame
	decoders.Put(d)
}

// Parse locates the messages of one frame. The frame must hold exactly one
// JSON value (surrounding whitespace, including a trailing CR, is allowed):
// an object, or an array of objects. Elements of a batch that are not
// objects are reported as Invalid messages.
func Parse(frame []byte) (Frame, error) {
	d := getDecoder(frame)
	defer putDecoder(d)

	var f Frame
	switch d.PeekKind() {
	case '{':
		m, err := parseObject(d, frame)
		if err != nil {
			return Frame{}, err
		}
		f.Messages = []Message{m}
	case '[':
		f.Batch = true
		if _, err := d.ReadToken(); err != nil {
			return Frame{}, syntaxError(err)
		}
		for d.PeekKind() != ']' {
			if d.PeekKind() == '{' {
				m, err := parseObject(d, frame)
				if err != nil {
					return Frame{}, err
				}
				f.Messages = append(f.Messages, m)
				continue
			}
			start := valueStart(frame, int(d.InputOffset()))
			if err := d.SkipValue(); err != nil {
				return Frame{}, syntaxError(err)
			}
			f.Messages = append(f.Messages, Message{Kind: Invalid, Span: Span{start, int(d.InputOffset())}})
		}
		if _, err := d.ReadToken(); err != nil {
			return Frame{}, syntaxError(err)
		}
	case 0:
		// PeekKind reports 0 for an error; ReadToken returns it.
		_, err := d.ReadToken()
		if err == io.EOF {
			return Frame{}, fmt.Errorf("%w: empty frame", ErrNotJSONRPC)
		}
		return Frame{}, syntaxError(err)
	default:
		return Frame{}, fmt.Errorf("%w: a frame must be a JSON object or array", ErrNotJSONRPC)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return Frame{}, fmt.Errorf("%w: data after the end of the message", ErrNotJSONRPC)
	}
	return f, nil
}

func syntaxError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %v", ErrNotJSONRPC, err)
}

// envelope names the members Parse locates; others are skipped.
var envelope = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

func parseObject(d *jsontext.Decoder, frame []byte) (Message, error) {
	var m Message
	m.Span.Start = valueStart(frame, int(d.InputOffset()))
	if _, err := d.ReadToken(); err != nil {
		return m, syntaxError(err)
	}
	var seen [len(envelope)]bool
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return m, syntaxError(err)
		}
		member := -1
		n := name.String()
		for i, e := range envelope {
			if strings.EqualFold(n, e) {
				member = i
				if n != e || seen[i] {
					m.Ambiguous = true
				}
				seen[i] = true
				break
			}
		}
		start := valueStart(frame, int(d.InputOffset()))
		if member == 2 && d.PeekKind() == '"' {
			tok, err := d.ReadToken()
			if err != nil {
				return m, syntaxError(err)
			}
			m.Method = tok.String()
			continue
		}
		if err := d.SkipValue(); err != nil {
			return m, syntaxError(err)
		}
		span := Span{start, int(d.InputOffset())}
		switch member {
		case 1:
			m.ID = span
		case 2:
			m.Ambiguous = true // a method that is not a string
		case 3:
			m.Params = span
		case 4:
			m.Result = span
		case 5:
			m.Error = span
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return m, syntaxError(err)
	}
	m.Span.End = int(d.InputOffset())

	hasMethod := seen[2]
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
	return m, nil
}

// valueStart returns the offset of the first byte of the next value at or
// after off, skipping whitespace and the separators the decoder has not yet
// consumed.
func valueStart(frame []byte, off int) int {
	for off < len(frame) {
		switch frame[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}
