package extract

import (
	"unicode/utf8"

	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// MaxDepth bounds the nesting of a message the filter will read.
const MaxDepth = jsontree.DefaultMaxDepth

// ErrTooDeep is returned for a message nested deeper than MaxDepth.
var ErrTooDeep = jsontree.ErrTooDeep

// node is a value in the message's tree.
type node = jsontree.Node

// none is no value.
const none = jsontree.None

// tree wraps the parsed frame with the readers' helpers.
type tree struct{ *jsontree.Tree }

// get returns the member a case-sensitive, last-wins reader (JavaScript's
// JSON.parse, the Go SDK) sees, or none. It is used for metadata such as a
// URI or a MIME type; content members are read with All.
func (t tree) get(n node, name string) node { return t.Get(n, name) }

// only returns the one string value of every member of n named name,
// ignoring case, and whether there was exactly one: false when the members
// disagree, when one of them is not a string, or when there is none. It is
// used for discriminators (a content block's type, a request's method),
// which decide what else is read.
func (t tree) only(n node, name string) (string, bool) {
	var s string
	found := false
	for v := range t.All(n, name) {
		if t.Kind(v) != jsontree.String {
			return "", false
		}
		vs := t.Str(v)
		if found && vs != s {
			return "", false
		}
		s, found = vs, true
	}
	return s, found
}

// text decodes a string node. A note reports replaced invalid UTF-8 or a
// malformed escape (the string is then decoded up to it).
func (t tree) text(n node) (b []byte, note string) {
	if t.Kind(n) != jsontree.String {
		return nil, ""
	}
	raw := t.Raw(n)
	b, invalid, err := jsontree.AppendUnquote(make([]byte, 0, len(raw)-2), raw)
	switch {
	case err != nil:
		return b, "malformed escape in a string: decoded up to it"
	case invalid:
		return b, "invalid UTF-8 replaced with U+FFFD"
	}
	return b, ""
}

// str decodes a string node to a Go string; other kinds yield "".
func (t tree) str(n node) string { return t.Str(n) }

// strings appends every string in n, and every object member name that is
// not a plain identifier, one per line, skipping _meta objects: everything a
// model could read in a free-form JSON value.
func (t tree) strings(n node, buf []byte) (out []byte, note string) {
	switch t.Kind(n) {
	case jsontree.String:
		b, nt := t.text(n)
		if len(buf) > 0 {
			buf = append(buf, '\n')
		}
		return append(buf, b...), nt
	case jsontree.Object:
		for c := range t.Children(n) {
			name := t.Name(c)
			if name == "_meta" {
				continue
			}
			if !plainName(name) {
				if len(buf) > 0 {
					buf = append(buf, '\n')
				}
				buf = append(buf, name...)
			}
			var nt string
			buf, nt = t.strings(c, buf)
			note = firstNote(note, nt)
		}
	case jsontree.Array:
		for c := range t.Children(n) {
			var nt string
			buf, nt = t.strings(c, buf)
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
