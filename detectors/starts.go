package detectors

import (
	"encoding/binary"
	"slices"
)

// keywordTrie finds the engine's keywords in a normalised text. Keywords
// that begin with a word byte only count at the start of a word
// (wordBoundary), so most positions of a text cannot begin one: the walk
// passes over the inside of words at a glance, rules out most of the
// positions left from their first bytes (a few look-ups in tables that
// stay in the cache), and from the rest follows a trie of the keywords
// anchored there, which ends where nothing matches, a byte or two on. An
// Aho-Corasick automaton over the whole text would step every byte through
// a table too large for the cache and find matches at positions that are
// then thrown away.
//
// Nodes are numbered from 1 (0 is "no node"). The root's children are a
// table indexed by byte; every other node's children are a run of edges
// sorted by byte, most nodes of a trie of phrases having one or two.
type keywordTrie struct {
	firsts
	root  [256]uint32
	nodes []trieNode
	edges []trieEdge
	// wide holds the children of nodes with more than maxEdges of them,
	// as a table indexed by byte.
	wide [][256]uint32
}

type trieNode struct {
	// first and count are the node's run of edges, or its row of wide
	// when count is wideNode.
	first uint32
	count uint8
	// out is the keyword (its index in the texts given) that ends at the
	// node, or -1.
	out int32
}

type trieEdge struct {
	c     byte
	child uint32
}

// firsts tells from the first bytes at a position whether a keyword may
// begin there: the first two bytes must begin some keyword, and the first
// four or eight bytes must hash to a bucket of a keyword of that length
// or longer unless a keyword of two or three bytes begins with the two.
type firsts struct {
	single    [256]bool
	pair      [1 << 16 / 64]uint64
	short     [1 << 16 / 64]uint64
	quad, oct [1 << prefixBits / 64]uint64
}

const prefixBits = 14

func prefixHash(v uint64) uint32 {
	return uint32((v * 0x9E3779B97F4A7C15) >> (64 - prefixBits))
}

func setBit(s []uint64, i uint32)      { s[i/64] |= 1 << (i % 64) }
func hasBit(s []uint64, i uint32) bool { return s[i/64]&(1<<(i%64)) != 0 }

func (f *firsts) add(k string) {
	if len(k) == 1 {
		f.single[k[0]] = true
		return
	}
	p := uint32(k[0])<<8 | uint32(k[1])
	setBit(f.pair[:], p)
	switch {
	case len(k) < 4:
		setBit(f.short[:], p)
	case len(k) < 8:
		setBit(f.quad[:], prefixHash(uint64(binary.LittleEndian.Uint32([]byte(k)))))
	default:
		setBit(f.oct[:], prefixHash(binary.LittleEndian.Uint64([]byte(k))))
	}
}

// may reports whether a keyword may begin at text[i].
func (f *firsts) may(text []byte, i int) bool {
	c := text[i]
	if f.single[c] {
		return true
	}
	if i+1 >= len(text) {
		return false
	}
	p := uint32(c)<<8 | uint32(text[i+1])
	if !hasBit(f.pair[:], p) {
		return false
	}
	if hasBit(f.short[:], p) {
		return true
	}
	switch {
	case i+8 <= len(text):
		v := binary.LittleEndian.Uint64(text[i:])
		return hasBit(f.quad[:], prefixHash(uint64(uint32(v)))) || hasBit(f.oct[:], prefixHash(v))
	case i+4 <= len(text):
		return hasBit(f.quad[:], prefixHash(uint64(binary.LittleEndian.Uint32(text[i:]))))
	}
	return false
}

// maxEdges is the most children a node keeps as a run of edges searched
// one by one; a node with more gets a table.
const maxEdges = 8

// wideNode is the count of a node whose children are a row of wide.
const wideNode = 255

// newKeywordTrie builds the trie of keywords (distinct, non-empty).
func newKeywordTrie(keywords []string) *keywordTrie {
	// Build with a map per node, then lay the edges out flat.
	type node struct {
		next map[byte]uint32
		out  int32
	}
	nodes := []node{{}, {next: map[byte]uint32{}, out: -1}} // 0 unused, 1 the root
	for k, w := range keywords {
		n := uint32(1)
		for i := 0; i < len(w); i++ {
			c, ok := nodes[n].next[w[i]]
			if !ok {
				c = uint32(len(nodes))
				nodes = append(nodes, node{next: map[byte]uint32{}, out: -1})
				nodes[n].next[w[i]] = c
			}
			n = c
		}
		nodes[n].out = int32(k)
	}
	t := &keywordTrie{nodes: make([]trieNode, len(nodes))}
	for _, k := range keywords {
		t.add(k)
	}
	for n := range nodes {
		t.nodes[n].out = -1
		if n == 0 {
			continue
		}
		t.nodes[n].out = nodes[n].out
		labels := make([]byte, 0, len(nodes[n].next))
		for b := range nodes[n].next {
			labels = append(labels, b)
		}
		slices.Sort(labels)
		switch {
		case n == 1:
			for _, b := range labels {
				t.root[b] = nodes[n].next[b]
			}
		case len(labels) > maxEdges:
			var row [256]uint32
			for _, b := range labels {
				row[b] = nodes[n].next[b]
			}
			t.nodes[n].first, t.nodes[n].count = uint32(len(t.wide)), wideNode
			t.wide = append(t.wide, row)
		default:
			t.nodes[n].first, t.nodes[n].count = uint32(len(t.edges)), uint8(len(labels))
			for _, b := range labels {
				t.edges = append(t.edges, trieEdge{b, nodes[n].next[b]})
			}
		}
	}
	return t
}

// next returns node n's child on byte c, or 0.
func (t *keywordTrie) next(n uint32, c byte) uint32 {
	nd := &t.nodes[n]
	if nd.count == wideNode {
		return t.wide[nd.first][c]
	}
	for _, e := range t.edges[nd.first : nd.first+uint32(nd.count)] {
		if e.c == c {
			return e.child
		}
	}
	return 0
}

var wordBytes = func() (w [256]bool) {
	for c := range 256 {
		w[c] = isWordByte(byte(c))
	}
	return
}()

func isWordByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }

// walk calls fn for every keyword that occurs in text at a position where
// one may begin, with its start, end and index, in order of start and, at
// one start, of end.
//
// A keyword may begin at every byte that is not a word byte, and at the
// first byte of a run of word bytes: inside a word only keywords that
// begin with another kind of byte could start, and none of those begins
// with a word byte. A word after an underscore that opens Markdown
// emphasis ("_assistant") is looked at too (see emphasis): the byte after
// an underscore that begins a run.
func (t *keywordTrie) walk(text []byte, fn func(start, end int, pattern int64)) {
	n := len(text)
	for i := 0; i < n; {
		if !wordBytes[text[i]] {
			// Most of these are spaces, which begin no keyword.
			if t.root[text[i]] != 0 && t.may(text, i) {
				t.from(text, i, fn)
			}
			i++
			continue
		}
		if t.may(text, i) {
			t.from(text, i, fn)
		}
		j := i + 1
		if text[i] == '_' && j < n && wordBytes[text[j]] {
			if t.may(text, j) {
				t.from(text, j, fn)
			}
			j++
		}
		for j < n && wordBytes[text[j]] {
			j++
		}
		i = j
	}
}

// from calls fn for every keyword that begins at text[i], shortest first.
func (t *keywordTrie) from(text []byte, i int, fn func(start, end int, pattern int64)) {
	node := t.root[text[i]]
	for j := i + 1; node != 0; j++ {
		if k := t.nodes[node].out; k >= 0 {
			fn(i, j, int64(k))
		}
		if j == len(text) {
			return
		}
		node = t.next(node, text[j])
	}
}
