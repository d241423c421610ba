package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth bounds the nesting of a message the filter will read. MCP
// messages nest a handful of levels; deeper input is refused rather than
// read with unbounded memory.
const MaxDepth = 512

// ErrTooDeep is returned for a message nested deeper than MaxDepth.
var ErrTooDeep = errors.New("message nests too deeply")

// node is one JSON value located in a message. Strings are kept as spans and
// decoded only when an extractor asks for them.
type node struct {
	kind       byte // '{', '[', '"', '0' (number), 't', 'f', 'n'
	start, end int  // span in the message
	members    []member
	elems      []*node
}

type member struct {
	name  string
	value *node
}

// tree is a parsed JSON value and the message bytes its spans index.
type tree struct {
	msg  []byte
	root *node
}

// parse reads the JSON value at msg[start:end].
func parse(msg []byte, start, end int) (*tree, error) {
	d := jsontext.NewDecoder(bytes.NewBuffer(msg[start:end]),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	p := parser{d: d, msg: msg, base: start}
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("extract: data after the value")
	}
	return &tree{msg: msg, root: root}, nil
}

type parser struct {
	d    *jsontext.Decoder
	msg  []byte
	base int
}

func (p *parser) offset() int {
	off := p.base + int(p.d.InputOffset())
	for off < len(p.msg) {
		switch p.msg[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *parser) value(depth int) (*node, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	n := &node{kind: byte(p.d.PeekKind()), start: p.offset()}
	switch n.kind {
	case '{':
		if _, err := p.d.ReadToken(); err != nil {
			return nil, err
		}
		for p.d.PeekKind() != '}' {
			tok, err := p.d.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String() // before the next read voids the token
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, member{name: name, value: v})
		}
		if _, err := p.d.ReadToken(); err != nil {
			return nil, err
		}
	case '[':
		if _, err := p.d.ReadToken(); err != nil {
			return nil, err
		}
		for p.d.PeekKind() != ']' {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, v)
		}
		if _, err := p.d.ReadToken(); err != nil {
			return nil, err
		}
	default:
		if _, err := p.d.ReadValue(); err != nil {
			return nil, err
		}
		if n.kind == '"' || n.kind == '0' || n.kind == 't' || n.kind == 'f' || n.kind == 'n' {
			break
		}
		return nil, fmt.Errorf("extract: unexpected JSON kind %q", n.kind)
	}
	n.end = p.base + int(p.d.InputOffset())
	return n, nil
}

// all returns the members of an object whose name equals name, ignoring
// case, in document order: the union of what any client could take the
// member to be.
func (n *node) all(name string) []*node {
	if n == nil || n.kind != '{' {
		return nil
	}
	var out []*node
	for _, m := range n.members {
		if strings.EqualFold(m.name, name) {
			out = append(out, m.value)
		}
	}
	return out
}

// get returns the member a case-sensitive, last-wins reader (JavaScript's
// JSON.parse, the Go SDK) sees, or nil. It is used for metadata such as a
// URI or a MIME type; content members are read with all.
func (n *node) get(name string) *node {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i := len(n.members) - 1; i >= 0; i-- {
		if n.members[i].name == name {
			return n.members[i].value
		}
	}
	return nil
}

// only returns the one string value of every member of n named name,
// ignoring case, and whether there was exactly one: false when the members
// disagree, when one of them is not a string, or when there is none. It is
// used for discriminators (a content block's type, a request's method),
// which decide what else is read.
func (t *tree) only(n *node, name string) (string, bool) {
	vs := n.all(name)
	if len(vs) == 0 {
		return "", false
	}
	for _, v := range vs {
		if v.kind != '"' {
			return "", false
		}
	}
	s := t.str(vs[0])
	for _, v := range vs[1:] {
		if t.str(v) != s {
			return "", false
		}
	}
	return s, true
}

// text decodes a string node. A note reports replaced invalid UTF-8.
func (t *tree) text(n *node) (b []byte, note string) {
	if n == nil || n.kind != '"' {
		return nil, ""
	}
	raw := t.msg[n.start:n.end]
	b, err := jsontext.AppendUnquote(make([]byte, 0, len(raw)-2), raw)
	if err != nil {
		return b, "invalid UTF-8 replaced with U+FFFD"
	}
	return b, ""
}

// str decodes a string node to a Go string; other kinds yield "".
func (t *tree) str(n *node) string {
	b, _ := t.text(n)
	return string(b)
}

// strings appends every string in n, and every object member name that is
// not a plain identifier, one per line, skipping _meta objects: everything a
// model could read in a free-form JSON value.
func (t *tree) strings(n *node, buf []byte) (out []byte, note string) {
	if n == nil {
		return buf, ""
	}
	switch n.kind {
	case '"':
		b, nt := t.text(n)
		if len(buf) > 0 {
			buf = append(buf, '\n')
		}
		return append(buf, b...), nt
	case '{':
		for _, m := range n.members {
			if m.name == "_meta" {
				continue
			}
			if !plainName(m.name) {
				if len(buf) > 0 {
					buf = append(buf, '\n')
				}
				buf = append(buf, m.name...)
			}
			var nt string
			buf, nt = t.strings(m.value, buf)
			note = firstNote(note, nt)
		}
	case '[':
		for _, e := range n.elems {
			var nt string
			buf, nt = t.strings(e, buf)
			note = firstNote(note, nt)
		}
	}
	return buf, note
}

// plainName reports whether an object member name is an identifier, which
// carries no instructions worth scanning ("content", "file_path", "x-id").
func plainName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return len(s) == 0
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == '$', r == '/', r == '@':
		default:
			return false
		}
	}
	return utf8.ValidString(s)
}

func firstNote(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
