package detectors

import (
	"encoding/binary"
	"math/bits"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/ctxguard/ctxguard/internal/swar"
)

// starts is a prefilter in front of the Aho-Corasick walk. The walk over
// the whole text costs a transition per byte in a trie too large for the
// processor's caches; most positions of a text cannot begin a keyword. A
// keyword that begins with a word character only counts at the start of a
// word (wordBoundary), and its first bytes must be the first bytes of some
// keyword: starts tests that from a few table look-ups, and the trie walks
// only the short window after a position that passes, keeping the matches
// that begin there. The hits are those the whole walk finds.
type starts struct {
	// pair marks the first two bytes of every keyword; short, those of
	// keywords of two or three bytes, with the longest such keyword.
	pair  [1 << 16 / 64]uint64
	short [1 << 16]uint8
	// quad and oct are hashed sets of the first four and eight bytes of
	// keywords of 4 to 7 and of 8 or more bytes, with the longest keyword
	// in the bucket.
	quad, oct [1 << prefixBits]uint8
	// single marks keywords of one byte.
	single [256]bool
	maxLen int
	// spaceLeads is set when some keyword begins with a space: otherwise
	// the spaces of a text, its most common byte after letters, need no
	// look.
	spaceLeads bool
}

const prefixBits = 14

func prefixHash(v uint64, bits int) uint32 {
	return uint32((v * 0x9E3779B97F4A7C15) >> (64 - bits))
}

func clampLen(n int) uint8 { return uint8(min(n, 255)) }

func newStarts(keywords []string) *starts {
	s := &starts{}
	for _, k := range keywords {
		s.maxLen = max(s.maxLen, len(k))
		if k != "" && k[0] == ' ' {
			s.spaceLeads = true
		}
		switch {
		case len(k) == 1:
			s.single[k[0]] = true
		case len(k) < 4:
			p := uint16(k[0])<<8 | uint16(k[1])
			s.pair[p/64] |= 1 << (p % 64)
			s.short[p] = max(s.short[p], clampLen(len(k)))
		case len(k) < 8:
			p := uint16(k[0])<<8 | uint16(k[1])
			s.pair[p/64] |= 1 << (p % 64)
			h := prefixHash(uint64(binary.LittleEndian.Uint32([]byte(k))), prefixBits)
			s.quad[h] = max(s.quad[h], clampLen(len(k)))
		default:
			p := uint16(k[0])<<8 | uint16(k[1])
			s.pair[p/64] |= 1 << (p % 64)
			h := prefixHash(binary.LittleEndian.Uint64([]byte(k)), prefixBits)
			s.oct[h] = max(s.oct[h], clampLen(len(k)))
		}
	}
	return s
}

func isWordByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }

// walk calls fn for every keyword of the trie that occurs in text at a
// position the prefilter lets through, with the position and the matched
// pattern, in order of start and, at one start, of end.
//
// A keyword that begins with a word byte counts only at the start of a
// word (wordBoundary), and none of the others begins with a word byte: so
// the positions looked at are every byte that is not a word byte (but a
// space when no keyword begins with one) and the first byte of each word.
// A word after an underscore that opens Markdown emphasis ("_assistant") is
// looked at too (see emphasis). The text is classified eight bytes at a
// time (candidates), and only the positions found are looked at.
func (s *starts) walk(trie *ahocorasick.Trie, text []byte, fn func(start, end int, pattern int64)) {
	n := len(text)
	// carry is what the block before says of the byte before this block:
	// whether it was a word byte, and whether it was an underscore opening
	// a word (so that this block's first byte, if a word byte, is looked
	// at).
	var carry blockCarry
	i := 0
	for ; i+8 <= n; i += 8 {
		m := s.candidates(binary.LittleEndian.Uint64(text[i:]), &carry)
		for ; m != 0; m &= m - 1 {
			s.at(trie, text, i+bits.TrailingZeros64(m)/8, fn)
		}
	}
	// The last bytes, one at a time by the same rule. (Padding them into a
	// block for candidates measured 20% slower on BenchmarkKeywords, an
	// effect of code layout; TestStartsWalk and FuzzStartsWalk hold both
	// paths to the definition.)
	for ; i < n; i++ {
		c := text[i]
		if isWordByte(c) && i > 0 && isWordByte(text[i-1]) && !(text[i-1] == '_' && (i == 1 || !isWordByte(text[i-2]))) {
			continue // inside a word
		}
		if c == ' ' && !s.spaceLeads {
			continue
		}
		s.at(trie, text, i, fn)
	}
}

// blockCarry is what candidates keeps from one block for the next: the
// high bit of each field is set or clear.
type blockCarry struct {
	word, emphasis uint64
}

// candidates returns, as the high bits of the bytes of a mask, the
// positions of the eight bytes v (little-endian) that walk looks at.
func (s *starts) candidates(v uint64, carry *blockCarry) uint64 {
	ascii := v &^ swar.Highs
	nonASCII := v & swar.Highs
	// No byte of the sums below carries into the next: every byte of
	// ascii is below 0x80 and every addend at most 0x80.
	word := (swar.AtLeast(ascii, 'a')&swar.AtMost(ascii, 'z') | swar.AtLeast(ascii, '0')&swar.AtMost(ascii, '9') | swar.Equal(ascii, '_')) &^ nonASCII
	prevWord := word<<8 | carry.word
	wordStart := word &^ prevWord
	other := ^word & swar.Highs
	if !s.spaceLeads {
		other &^= swar.Equal(ascii, ' ') &^ nonASCII
	}
	opens := swar.Equal(ascii, '_') &^ nonASCII & wordStart
	afterOpen := (opens<<8 | carry.emphasis) & word
	carry.word = word >> 56 & 0x80
	carry.emphasis = opens >> 56 & 0x80
	return wordStart | other | afterOpen
}

// at calls fn for the keywords that begin at text[i].
func (s *starts) at(trie *ahocorasick.Trie, text []byte, i int, fn func(start, end int, pattern int64)) {
	n := len(text)
	c := text[i]
	window := 0
	if s.single[c] {
		window = 1
	}
	if i+1 < n {
		p := uint16(c)<<8 | uint16(text[i+1])
		if s.pair[p/64]&(1<<(p%64)) != 0 {
			window = max(window, int(s.short[p]))
			switch {
			case i+8 <= n:
				v := binary.LittleEndian.Uint64(text[i:])
				window = max(window, int(s.quad[prefixHash(uint64(uint32(v)), prefixBits)]), int(s.oct[prefixHash(v, prefixBits)]))
			case i+4 <= n:
				window = max(window, int(s.quad[prefixHash(uint64(binary.LittleEndian.Uint32(text[i:])), prefixBits)]))
			}
		}
	}
	if window == 0 {
		return
	}
	end := min(n, i+window)
	trie.Walk(text[i:end], func(e, length, pattern int64) bool {
		if e-length+1 == 0 {
			fn(i, i+int(e)+1, pattern)
		}
		return true
	})
}
