package extract

import (
	"strconv"
	"strings"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// noContent lists the methods whose results and params carry nothing a
// model reads, so the hot path can skip them without decoding.
var noContent = map[string]bool{
	"ping":                                 true,
	"logging/setLevel":                     true,
	"resources/subscribe":                  true,
	"resources/unsubscribe":                true,
	"roots/list":                           true,
	"notifications/initialized":            true,
	"notifications/cancelled":              true,
	"notifications/roots/list_changed":     true,
	"notifications/tools/list_changed":     true,
	"notifications/prompts/list_changed":   true,
	"notifications/resources/list_changed": true,
	"notifications/resources/updated":      true,
	"notifications/elicitation/complete":   true,
}

// Inspects reports whether a message of the given method (for a response:
// the method of its request) can carry content for the model. Error
// responses always can, whatever the method.
func Inspects(method string) bool { return !noContent[method] }

// resultReaders read the result of a response, by the method of the request
// it answers. A method not listed here is read by otherStrings.
var resultReaders = map[string]func(*reader, node){
	"initialize":               instructions,
	"server/discover":          instructions,
	"tools/list":               toolsList,
	"resources/list":           resourcesList,
	"resources/templates/list": templatesList,
	"prompts/list":             promptsList,
	"resources/read":           resourcesRead,
	"tools/call":               toolsCall,
	"prompts/get":              promptsGet,
	"completion/complete":      completion,
}

// paramReaders read the params of requests and notifications the server
// sends to the client.
var paramReaders = map[string]func(*reader, node){
	"sampling/createMessage": sampling,
	"elicitation/create":     elicitation,
	"notifications/message":  logMessage,
	"notifications/progress": progress,
}

// Message returns the items of one message of a frame, as jsonrpc.Parse
// located it. method is the method the message answers (for a response,
// its request's method; "" when unknown) or carries (for a request or
// notification). Items' spans index frame; their paths are relative to the
// message.
func Message(frame []byte, m jsonrpc.Message, method string) ([]ctxguard.Item, error) {
	if m.Tree == nil {
		var err error
		if m, err = reparse(frame, m); err != nil {
			return nil, err
		}
	}
	r := &reader{tree: tree{m.Tree}}
	switch m.Kind {
	case jsonrpc.Response:
		if m.ErrorNode != none {
			r.path = "/error"
			errorItem(r, m.ErrorNode)
		}
		if m.ResultNode != none && Inspects(method) {
			r.path = "/result"
			if read := resultReaders[method]; read != nil {
				read(r, m.ResultNode)
			} else {
				otherStrings(r, m.ResultNode)
			}
		}
	case jsonrpc.Request, jsonrpc.Notification:
		read := paramReaders[method]
		if read == nil || m.ParamsNode == none {
			break
		}
		r.path = "/params"
		read(r, m.ParamsNode)
	}
	return r.items, nil
}

// reparse finds m in a fresh parse of frame, for a Message built by hand.
func reparse(frame []byte, m jsonrpc.Message) (jsonrpc.Message, error) {
	f, err := jsonrpc.Parse(frame)
	if err != nil {
		return m, err
	}
	for _, fm := range f.Messages {
		if fm.Span == m.Span {
			return fm, nil
		}
	}
	return m, jsonrpc.ErrNotJSONRPC
}

// reader collects items from one tree. path is the JSON Pointer of the value
// being read in the message.
type reader struct {
	tree  tree
	path  string
	items []ctxguard.Item
}

func (r *reader) add(it ctxguard.Item, n node) {
	it.Start, it.End = r.tree.Span(n)
	r.items = append(r.items, it)
}

// addIn adds an item whose replacement takes the place of outer.
func (r *reader) addIn(it ctxguard.Item, n, outer node) {
	it.OuterStart, it.OuterEnd = r.tree.Span(outer)
	r.add(it, n)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// at returns the pointer of a child: at(path, "contents", 0).
func at(path string, steps ...any) string {
	var b strings.Builder
	b.WriteString(path)
	for _, s := range steps {
		b.WriteByte('/')
		switch s := s.(type) {
		case int:
			b.WriteString(strconv.Itoa(s))
		case string:
			b.WriteString(pointerEscaper.Replace(s))
		}
	}
	return b.String()
}

// eachAll calls fn for every case-insensitive match of name in n, with its
// pointer (using the member's own spelling).
func (r *reader) eachAll(n node, path, name string, fn func(v node, path string)) {
	for v := range r.tree.All(n, name) {
		fn(v, at(path, r.tree.Name(v)))
	}
}

// eachElem calls fn for every element of every array member named name.
func (r *reader) eachElem(n node, path, name string, fn func(v node, path string)) {
	r.eachAll(n, path, name, func(arr node, p string) {
		if r.tree.Kind(arr) != jsontree.Array {
			return
		}
		i := 0
		for e := range r.tree.Children(arr) {
			fn(e, at(p, i))
			i++
		}
	})
}

// textItem adds an item for every string member named name of n.
func (r *reader) textItem(n node, path, name string, kind ctxguard.ItemKind) {
	r.eachAll(n, path, name, func(v node, p string) {
		if r.tree.Kind(v) != jsontree.String {
			return
		}
		b, note := r.tree.text(v)
		r.add(ctxguard.Item{Kind: kind, Path: p, Content: b, Note: note}, v)
	})
}

func instructions(r *reader, res node) {
	r.textItem(res, r.path, "instructions", ctxguard.KindInstructions)
}

func otherStrings(r *reader, res node) {
	b, note := r.tree.strings(res, nil)
	if len(b) == 0 {
		return
	}
	r.add(ctxguard.Item{Kind: ctxguard.KindOther, Path: r.path, Content: b, Note: note}, res)
}

func errorItem(r *reader, e node) {
	b, note := r.tree.strings(e, nil)
	if len(b) == 0 {
		return
	}
	r.add(ctxguard.Item{Kind: ctxguard.KindError, Path: "/error", Content: b, Note: note}, e)
}
