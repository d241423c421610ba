package detectors

import (
	"bytes"
	"cmp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
)

// prefilter is a cheap necessary condition for a regular expression to
// match: for each of its top-level parts that can only begin with one of a
// few literal strings, one of those strings must occur in the text. A
// region that fails it is not handed to the (much slower) regexp engine.
type prefilter [][][]byte

// newPrefilter derives a prefilter from a pattern; a pattern it cannot
// reason about yields an empty prefilter, which lets everything through.
func newPrefilter(pattern string) prefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var parts []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	} else {
		parts = []*syntax.Regexp{re}
	}
	var pf prefilter
	for _, p := range parts {
		set, ok := prefixes(p, 0)
		if !ok || len(set) == 0 || len(set) > 64 {
			continue
		}
		var lits [][]byte
		for _, s := range set {
			if len(s) < 2 {
				lits = nil
				break
			}
			lits = append(lits, []byte(s))
		}
		if lits != nil {
			pf = append(pf, minimal(lits))
		}
	}
	// Every part must pass: the parts with the fewest literals cost the
	// least to test and are tried first.
	slices.SortStableFunc(pf, func(a, b [][]byte) int { return cmp.Compare(len(a), len(b)) })
	return pf
}

// minimal drops the literals of a part that contain another of its
// literals: where the longer one occurs, so does the shorter, and one
// search for the shorter answers for both.
func minimal(lits [][]byte) [][]byte {
	var out [][]byte
	for i, l := range lits {
		redundant := false
		for j, m := range lits {
			if j != i && bytes.Contains(l, m) && (len(m) < len(l) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, l)
		}
	}
	return out
}

// prefixes returns literal strings one of which every match of re starts
// with, when there are such.
func prefixes(re *syntax.Regexp, depth int) ([]string, bool) {
	if depth > 8 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return prefixes(re.Sub[0], depth+1)
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			p, ok := prefixes(s, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, p...)
		}
		return out, true
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return nil, false
		}
		return prefixes(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return prefixes(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return prefixes(re.Sub[0], depth+1)
		}
	case syntax.OpCharClass:
		// A small class of letters ([sz]) widens into its members.
		if n := classSize(re.Rune); n > 0 && n <= 4 {
			var out []string
			for i := 0; i < len(re.Rune); i += 2 {
				for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
					out = append(out, string(r))
				}
			}
			return out, true
		}
	}
	return nil, false
}

func classSize(r []rune) int {
	n := 0
	for i := 0; i+1 < len(r); i += 2 {
		n += int(r[i+1]-r[i]) + 1
	}
	return n
}

// match reports whether text may match: every part's literals occur.
// pairs, when not nil, holds the byte pairs of text: a literal with a
// pair not in it is not looked for.
func (pf prefilter) match(text []byte, pairs *bytePairs) bool {
	for _, lits := range pf {
		found := false
		for _, l := range lits {
			if (pairs == nil || pairs.mayHold(l)) && bytes.Contains(text, l) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// bytePairs is the set of the pairs of adjacent bytes of a text, hashed
// into 1024 bits. A clause is asked about a few literals by every rule
// with a hit in it, and most are absent: a literal of which one of three
// pairs (first, middle, last) is not in the set is absent, from three bit
// tests, where a search costs a pass over the clause.
type bytePairs [16]uint64

func pairBit(a, b byte) uint32 {
	return (uint32(a)<<8 | uint32(b)) * 0x9E3779B1 >> 22
}

func (s *bytePairs) set(text []byte) {
	*s = bytePairs{}
	for i := 0; i+1 < len(text); i++ {
		h := pairBit(text[i], text[i+1])
		s[h/64] |= 1 << (h % 64)
	}
}

func (s *bytePairs) has(a, b byte) bool {
	h := pairBit(a, b)
	return s[h/64]&(1<<(h%64)) != 0
}

// mayHold reports whether text may contain l (two bytes or more).
func (s *bytePairs) mayHold(l []byte) bool {
	n, m := len(l), len(l)/2
	return s.has(l[0], l[1]) && s.has(l[m-1], l[m]) && s.has(l[n-2], l[n-1])
}

// pairCache keeps the byte pairs of the clauses a detector has looked at
// in one document, in a small table indexed by a hash of the clause
// (a clause that collides is computed again).
type pairCache struct {
	keys [64][2]int
	sets [64]bytePairs
}

var pairCaches = sync.Pool{New: func() any { return new(pairCache) }}

func getPairCache() *pairCache {
	c := pairCaches.Get().(*pairCache)
	for i := range c.keys {
		c.keys[i] = [2]int{-1, -1}
	}
	return c
}

// of returns the byte pairs of norm[lo:hi].
func (c *pairCache) of(norm []byte, lo, hi int) *bytePairs {
	i := uint(lo*31+hi) % uint(len(c.keys))
	if c.keys[i] != [2]int{lo, hi} {
		c.keys[i] = [2]int{lo, hi}
		c.sets[i].set(norm[lo:hi])
	}
	return &c.sets[i]
}

// String shows a prefilter, for tests.
func (pf prefilter) String() string {
	var parts []string
	for _, lits := range pf {
		var ss []string
		for _, l := range lits {
			ss = append(ss, string(l))
		}
		parts = append(parts, "{"+strings.Join(ss, "|")+"}")
	}
	return strings.Join(parts, " ")
}
