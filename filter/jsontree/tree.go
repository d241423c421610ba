package jsontree

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// Kind is the kind of a JSON value: its first byte.
type Kind byte

// The kinds of JSON value.
const (
	Object Kind = '{'
	Array  Kind = '['
	String Kind = '"'
	Number Kind = '0'
	True   Kind = 't'
	False  Kind = 'f'
	Null   Kind = 'n'
)

// Node is a value in a Tree. The zero Node is the root; None is no value.
type Node int32

// None is returned where there is no such value.
const None Node = -1

// DefaultMaxDepth is the nesting Parse accepts by default. MCP messages nest
// a handful of levels.
const DefaultMaxDepth = 512

// ErrTooDeep is returned for input nested deeper than the limit.
var ErrTooDeep = errors.New("jsontree: nested too deeply")

// SyntaxError reports malformed JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsontree: %s at offset %d", e.Msg, e.Offset)
}

type node struct {
	kind               Kind
	start, end         int32 // the value's span in Src
	nameStart, nameEnd int32 // an object member's name, quotes included
	first, last, next  Node  // children and the next sibling
}

// Tree is a parsed JSON value. Its spans index Src, which must not change
// while the tree is in use.
type Tree struct {
	Src   []byte
	nodes []node
}

// Parse parses src, which must hold exactly one JSON value, optionally
// surrounded by whitespace. maxDepth <= 0 means DefaultMaxDepth.
func Parse(src []byte, maxDepth int) (*Tree, error) {
	if len(src) > 1<<31-1 {
		return nil, &SyntaxError{0, "input larger than 2 GiB"}
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	t := &Tree{Src: src, nodes: make([]node, 0, 16)}
	p := parser{t: t, src: src, max: maxDepth}
	if err := p.run(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParsePrefix parses as much of a truncated value as there is: the head of
// a message too large to read whole. It returns the tree of the nodes
// completed before the input ended (Complete tells which are), and the
// error that stopped it, if the input was not simply cut short.
func ParsePrefix(src []byte, maxDepth int) (*Tree, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	t := &Tree{Src: src, nodes: make([]node, 0, 16)}
	p := parser{t: t, src: src, max: maxDepth}
	err := p.run()
	var se *SyntaxError
	if errors.As(err, &se) && se.Offset >= len(src) {
		err = nil // cut short, which is what a prefix is
	}
	if len(t.nodes) == 0 {
		return nil, errors.Join(err, &SyntaxError{0, "no value"})
	}
	return t, err
}

// Complete reports whether n was read to its end.
func (t *Tree) Complete(n Node) bool {
	return n != None && t.nodes[n].end > t.nodes[n].start
}

type parser struct {
	t     *Tree
	src   []byte
	i     int
	max   int
	stack []Node // open containers
}

func (p *parser) fail(msg string) error { return &SyntaxError{p.i, msg} }

func (p *parser) ws() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// add appends a node as the next child of the innermost open container.
func (p *parser) add(n node) Node {
	id := Node(len(p.t.nodes))
	n.first, n.last, n.next = None, None, None
	p.t.nodes = append(p.t.nodes, n)
	if len(p.stack) > 0 {
		parent := &p.t.nodes[p.stack[len(p.stack)-1]]
		if parent.first == None {
			parent.first = id
		} else {
			p.t.nodes[parent.last].next = id
		}
		parent.last = id
	}
	return id
}

func (p *parser) run() error {
	p.ws()
	var nameStart, nameEnd int32 = -1, -1
	for {
		// A value is expected here.
		if p.i >= len(p.src) {
			return p.fail("unexpected end of input")
		}
		start := p.i
		c := p.src[p.i]
		switch c {
		case '{', '[':
			if len(p.stack) >= p.max {
				return ErrTooDeep
			}
			id := p.add(node{kind: Kind(c), start: int32(start), nameStart: nameStart, nameEnd: nameEnd})
			p.stack = append(p.stack, id)
			p.i++
			p.ws()
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if p.i < len(p.src) && p.src[p.i] == closer {
				p.i++
				p.t.nodes[id].end = int32(p.i)
				p.stack = p.stack[:len(p.stack)-1]
				break
			}
			if c == '{' {
				if err := p.name(&nameStart, &nameEnd); err != nil {
					return err
				}
			} else {
				nameStart, nameEnd = -1, -1
			}
			continue
		case '"':
			if err := p.str(); err != nil {
				return err
			}
			p.add(node{kind: String, start: int32(start), end: int32(p.i), nameStart: nameStart, nameEnd: nameEnd})
		case 't', 'f', 'n':
			l := literals[c]
			if err := p.lit(l.word); err != nil {
				return err
			}
			p.add(node{kind: l.kind, start: int32(start), end: int32(p.i), nameStart: nameStart, nameEnd: nameEnd})
		default:
			if c != '-' && (c < '0' || c > '9') {
				return p.fail(fmt.Sprintf("invalid character %q looking for a value", c))
			}
			if err := p.num(); err != nil {
				return err
			}
			p.add(node{kind: Number, start: int32(start), end: int32(p.i), nameStart: nameStart, nameEnd: nameEnd})
		}
		// After a value: a separator, closers, or the end.
		for {
			p.ws()
			if len(p.stack) == 0 {
				if p.i != len(p.src) {
					return p.fail("data after the top-level value")
				}
				return nil
			}
			if p.i >= len(p.src) {
				return p.fail("unexpected end of input")
			}
			top := p.stack[len(p.stack)-1]
			k := p.t.nodes[top].kind
			c := p.src[p.i]
			if (k == Object && c == '}') || (k == Array && c == ']') {
				p.i++
				p.t.nodes[top].end = int32(p.i)
				p.stack = p.stack[:len(p.stack)-1]
				continue
			}
			if c != ',' {
				return p.fail(fmt.Sprintf("invalid character %q after a value", c))
			}
			p.i++
			p.ws()
			if k == Object {
				if err := p.name(&nameStart, &nameEnd); err != nil {
					return err
				}
			} else {
				nameStart, nameEnd = -1, -1
			}
			break
		}
	}
}

// name reads an object member's name and the colon after it.
func (p *parser) name(start, end *int32) error {
	if p.i >= len(p.src) || p.src[p.i] != '"' {
		return p.fail("expected a member name")
	}
	*start = int32(p.i)
	if err := p.str(); err != nil {
		return err
	}
	*end = int32(p.i)
	p.ws()
	if p.i >= len(p.src) || p.src[p.i] != ':' {
		return p.fail("expected ':' after a member name")
	}
	p.i++
	p.ws()
	return nil
}

// str moves past a string, finding its closing quote: the first quote
// preceded by an even number of backslashes.
func (p *parser) str() error {
	body := p.i + 1
	for i := body; ; {
		j := bytes.IndexByte(p.src[i:], '"')
		if j < 0 {
			p.i = len(p.src)
			return p.fail("unterminated string")
		}
		q := i + j
		bs := 0
		for k := q - 1; k >= body && p.src[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			p.i = q + 1
			return nil
		}
		i = q + 1
	}
}

func (p *parser) lit(s string) error {
	if !bytes.HasPrefix(p.src[p.i:], []byte(s)) {
		return p.fail("invalid literal")
	}
	p.i += len(s)
	return nil
}

// num reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) num() error {
	s := p.src
	i := p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		p.i = i
		return p.fail("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		i = digits(s, i)
		if i == d {
			p.i = i
			return p.fail("invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		i = digits(s, i)
		if i == d {
			p.i = i
			return p.fail("invalid number")
		}
	}
	p.i = i
	return nil
}

// Kind returns the kind of n.
func (t *Tree) Kind(n Node) Kind {
	if n == None {
		return 0
	}
	return t.nodes[n].kind
}

// Span returns the start and end offsets of n in Src.
func (t *Tree) Span(n Node) (start, end int) {
	return int(t.nodes[n].start), int(t.nodes[n].end)
}

// Raw returns n's bytes in Src.
func (t *Tree) Raw(n Node) []byte {
	if n == None {
		return nil
	}
	return t.Src[t.nodes[n].start:t.nodes[n].end]
}

// Children iterates over the elements of an array or the member values of
// an object, in document order.
func (t *Tree) Children(n Node) iter.Seq[Node] {
	return func(yield func(Node) bool) {
		if n == None {
			return
		}
		for c := t.nodes[n].first; c != None; c = t.nodes[c].next {
			if !yield(c) {
				return
			}
		}
	}
}

// Len returns the number of children of n.
func (t *Tree) Len(n Node) int {
	k := 0
	for range t.Children(n) {
		k++
	}
	return k
}

// Name returns the decoded name of an object member, "" for other nodes.
func (t *Tree) Name(n Node) string {
	nd := &t.nodes[n]
	if nd.nameStart < 0 {
		return ""
	}
	raw := t.Src[nd.nameStart:nd.nameEnd]
	if bytes.IndexByte(raw, '\\') < 0 && isASCII(raw) {
		return string(raw[1 : len(raw)-1])
	}
	b, _, _ := AppendUnquote(nil, raw)
	return string(b)
}

// NameIs reports whether an object member's name is name, exactly.
func (t *Tree) NameIs(n Node, name string) bool {
	nd := &t.nodes[n]
	if nd.nameStart < 0 {
		return false
	}
	raw := t.Src[nd.nameStart+1 : nd.nameEnd-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	return t.Name(n) == name
}

// NameFold reports whether an object member's name is name under Unicode
// case folding, as a case-insensitive decoder would match it.
func (t *Tree) NameFold(n Node, name string) bool {
	nd := &t.nodes[n]
	if nd.nameStart < 0 {
		return false
	}
	raw := t.Src[nd.nameStart+1 : nd.nameEnd-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return bytes.EqualFold(raw, []byte(name))
	}
	return strings.EqualFold(t.Name(n), name)
}

// Get returns the member of object n named name as a case-sensitive,
// last-one-wins decoder (JavaScript's JSON.parse, the Go SDK) reads it, or
// None.
func (t *Tree) Get(n Node, name string) Node {
	if t.Kind(n) != Object {
		return None
	}
	found := None
	for c := range t.Children(n) {
		if t.NameIs(c, name) {
			found = c
		}
	}
	return found
}

// All iterates over every member of object n whose name matches name
// case-insensitively, duplicates included: the union of what any decoder
// could take the member to be.
func (t *Tree) All(n Node, name string) iter.Seq[Node] {
	return func(yield func(Node) bool) {
		if t.Kind(n) != Object {
			return
		}
		for c := range t.Children(n) {
			if t.NameFold(c, name) && !yield(c) {
				return
			}
		}
	}
}

// Text decodes string n, appending to dst. invalid reports that invalid
// UTF-8 or a lone surrogate was replaced with U+FFFD, as JSON decoders do.
// It returns an error for a malformed escape, or if n is not a string.
func (t *Tree) Text(dst []byte, n Node) (b []byte, invalid bool, err error) {
	if t.Kind(n) != String {
		return dst, false, errors.New("jsontree: not a string")
	}
	return AppendUnquote(dst, t.Raw(n))
}

// Str decodes string n, or returns "" for anything else.
func (t *Tree) Str(n Node) string {
	if t.Kind(n) != String {
		return ""
	}
	raw := t.Raw(n)
	if bytes.IndexByte(raw, '\\') < 0 && isASCII(raw) {
		return string(raw[1 : len(raw)-1])
	}
	b, _, _ := AppendUnquote(nil, raw)
	return string(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// literals are the values spelled by a word, indexed by their first letter.
var literals = [256]struct {
	kind Kind
	word string
}{'t': {True, "true"}, 'f': {False, "false"}, 'n': {Null, "null"}}

// digits returns the end of the run of decimal digits at i.
func digits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
