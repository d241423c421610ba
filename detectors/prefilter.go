package detectors

import (
	"bytes"
	"cmp"
	"regexp/syntax"
	"slices"
	"strings"
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
func (pf prefilter) match(text []byte) bool {
	for _, lits := range pf {
		found := false
		for _, l := range lits {
			if bytes.Contains(text, l) {
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
