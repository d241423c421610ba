package normalize

import (
	"encoding/binary"
	"math/bits"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard/internal/swar"
)

// Text is a document and its normalised view.
type Text struct {
	// Src is the document as it came.
	Src []byte
	// Norm is the normalised view that detectors match against.
	Norm []byte
	// Hidden are the regions of Norm a reader of the rendered document
	// would not see, with why.
	Hidden []Region
	// Links are the URLs of links and images in the document.
	Links []Link
	// Stats counts the invisible characters found.
	Stats Stats

	anchors []anchor
}

// Region is a range of Norm.
type Region struct {
	Start, End int
	Reason     string
}

// Link is a URL in the document. Start and End index Src (the URL itself).
type Link struct {
	URL        string
	Start, End int
	Image      bool
}

// Stats counts what normalisation removed or decoded.
type Stats struct {
	// ZeroWidthInWords counts zero-width characters between two letters of
	// Latin, Greek or Cyrillic script, where they only hide words.
	ZeroWidthInWords int
	// ZeroWidth counts all zero-width characters.
	ZeroWidth   int
	SoftHyphens int
	// BidiOverrides counts U+202D and U+202E, which reverse displayed text.
	BidiOverrides int
	// TagChars counts Unicode tag characters (U+E0000 block).
	TagChars int
	// HTML is set when the document was read as HTML.
	HTML bool
	// Positions of the zero-width characters in words, bidi overrides and
	// tag characters in Src (at most 32 each).
	ZeroWidthAt, BidiAt, TagAt []int
}

// anchor maps Norm from out onwards (to the next anchor) to Src: byte for
// byte from src when exact, else all of it to [src, srcEnd).
type anchor struct {
	out, src, srcEnd int
	exact            bool
}

// SrcSpan maps a range of Norm to the range of Src it came from.
func (t *Text) SrcSpan(start, end int) (int, int) {
	if len(t.anchors) == 0 || start >= end {
		p := t.srcStart(start)
		return p, p
	}
	return t.srcStart(start), t.srcEnd(end)
}

func (t *Text) find(o int) *anchor {
	i := sort.Search(len(t.anchors), func(i int) bool { return t.anchors[i].out > o }) - 1
	if i < 0 {
		i = 0
	}
	return &t.anchors[i]
}

func (t *Text) srcStart(o int) int {
	if len(t.anchors) == 0 {
		return 0
	}
	a := t.find(o)
	if a.exact {
		return min(a.src+(o-a.out), len(t.Src))
	}
	return a.src
}

func (t *Text) srcEnd(o int) int {
	a := t.find(o - 1)
	if a.exact {
		p := min(a.src+(o-a.out), len(t.Src))
		// Never end inside a multi-byte character.
		for p < len(t.Src) && !utf8.RuneStart(t.Src[p]) {
			p++
		}
		return p
	}
	return a.srcEnd
}

// InHidden returns the hidden region containing Norm offset o, if any.
func (t *Text) InHidden(o int) (Region, bool) {
	for _, r := range t.Hidden {
		if r.Start <= o && o < r.End {
			return r, true
		}
	}
	return Region{}, false
}

// builder appends normalised text with its offset map.
type builder struct {
	t          *Text
	lastSpace  bool
	prevLetter bool
	pendingZW  []int
	tagStart   int // Norm offset where the current run of tag characters began, or -1
}

func newBuilder(src []byte) *builder {
	// An anchor follows every collapsed run of spaces, and a non-ASCII
	// character takes one and often another for the text after it: room
	// for a few per line and two per such character saves growing the
	// slice a dozen times over a large document (and the garbage of it).
	nAnchors := len(src)/64 + 2*multiByteRunes(src) + 4
	var norm []byte
	var anchors []anchor
	if bs, ok := buffers.Get().(*textBuffers); ok {
		if cap(bs.norm) >= len(src) {
			norm, bs.norm = bs.norm[:0], nil
		}
		if cap(bs.anchors) >= nAnchors {
			anchors, bs.anchors = bs.anchors[:0], nil
		}
		if bs.norm != nil || bs.anchors != nil {
			buffers.Put(bs) // what did not fit this document may fit the next
		}
	}
	// Room for a typical document at least, so that the buffers of one
	// fit most of the documents after it.
	if norm == nil {
		norm = make([]byte, 0, max(len(src), minPooled))
	}
	if anchors == nil {
		anchors = make([]anchor, 0, max(nAnchors, minPooled/32))
	}
	return &builder{t: &Text{Src: src, Norm: norm, anchors: anchors}, lastSpace: true, tagStart: -1}
}

// textBuffers are a released Text's normalised view and offset map, kept
// for the next document: a scan makes one Text per document (and per
// decoded payload), and allocating and zeroing them anew was the largest
// share of a small document's garbage.
type textBuffers struct {
	norm    []byte
	anchors []anchor
}

var buffers sync.Pool

// maxPooled bounds the view kept for reuse, so that one huge document
// does not keep its buffers alive for the documents after it; minPooled is
// the least room made for one, in bytes of Norm (and anchors of 32 bytes).
const (
	maxPooled = 4 << 20
	minPooled = 8 << 10
)

// Release gives the Text's buffers back for reuse by a later New. The
// Text, its Norm and its offset map must not be used afterwards; Src is
// the caller's and is not touched. Release is optional: a Text that is not
// released is collected as usual.
func (t *Text) Release() {
	if t == nil || cap(t.Norm) == 0 || cap(t.Norm) > maxPooled {
		return
	}
	buffers.Put(&textBuffers{norm: t.Norm[:0], anchors: t.anchors[:0]})
	t.Norm, t.anchors = nil, nil
}

// multiByteRunes counts the bytes of src that begin a multi-byte UTF-8
// sequence (0xC0 and up), eight at a time.
func multiByteRunes(src []byte) int {
	n, i := 0, 0
	for ; i+8 <= len(src); i += 8 {
		v := binary.LittleEndian.Uint64(src[i:])
		n += bits.OnesCount64(v & (v << 1) & swar.Highs)
	}
	for ; i < len(src); i++ {
		if src[i] >= 0xC0 {
			n++
		}
	}
	return n
}

func (b *builder) emitExact(c byte, p int) {
	t := b.t
	o := len(t.Norm)
	if n := len(t.anchors); n == 0 || !t.anchors[n-1].exact || o-t.anchors[n-1].out != p-t.anchors[n-1].src {
		t.anchors = append(t.anchors, anchor{out: o, src: p, exact: true})
	}
	t.Norm = append(t.Norm, c)
}

func (b *builder) emitMapped(s string, p, q int) {
	if s == "" {
		return
	}
	t := b.t
	if n := len(t.anchors); n == 0 || t.anchors[n-1].exact || t.anchors[n-1].src != p || t.anchors[n-1].srcEnd != q {
		t.anchors = append(t.anchors, anchor{out: len(t.Norm), src: p, srcEnd: q})
	}
	t.Norm = append(t.Norm, s...)
}

// space appends one space for source range [p, q) unless the view already
// ends in one.
func (b *builder) space(p, q int) {
	if b.lastSpace {
		return
	}
	if q == p+1 {
		b.emitExact(' ', p)
	} else {
		b.emitMapped(" ", p, q)
	}
	b.lastSpace = true
}

// text appends src[start:end], each character mapped to its own bytes.
func (b *builder) text(start, end int) {
	b.runes(b.t.Src[start:end], start, -1, -1)
}

// decoded appends s, which stands for src[start:end] as a whole (text with
// its entities decoded).
func (b *builder) decoded(s []byte, start, end int) {
	b.runes(s, start, start, end)
}

// runes appends the runes of s. When ms >= 0, every output maps to
// [ms, me) of Src; otherwise the rune at s[i] comes from Src[base+i].
func (b *builder) runes(s []byte, base, ms, me int) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 && ms < 0 && b.tagStart < 0 && len(b.pendingZW) == 0 {
			i = b.asciiRun(s, base, i)
			continue
		}
		if c < 0x80 {
			p := base + i
			i++
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
				if ms >= 0 {
					b.space(ms, me)
				} else {
					b.space(p, p+1)
				}
				b.prevLetter = false
				b.pendingZW = b.pendingZW[:0]
				b.endTags()
				continue
			}
			b.endTags()
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			letter := 'a' <= c && c <= 'z'
			b.letter(letter)
			if ms >= 0 {
				b.emitMapped(string(rune(c)), ms, me)
			} else {
				b.emitExact(c, p)
			}
			b.lastSpace = false
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		p, q := base+i, base+i+size
		if ms >= 0 {
			p, q = ms, me
		}
		i += size
		ri := info(r)
		switch ri.class {
		case classSpace:
			b.space(p, q)
			b.prevLetter = false
			b.pendingZW = b.pendingZW[:0]
			b.endTags()
		case classZeroWidth:
			b.t.Stats.ZeroWidth++
			if b.prevLetter {
				b.pendingZW = append(b.pendingZW, p)
			}
		case classSoftHyphen:
			b.t.Stats.SoftHyphens++
		case classBidiOverride:
			b.t.Stats.BidiOverrides++
			b.t.Stats.BidiAt = appendCapped(b.t.Stats.BidiAt, p)
		case classBidiOther, classFormat:
		case classTag:
			b.t.Stats.TagChars++
			b.t.Stats.TagAt = appendCapped(b.t.Stats.TagAt, p)
			if r >= 0xE0020 && r <= 0xE007E {
				if b.tagStart < 0 {
					b.tagStart = len(b.t.Norm)
				}
				c := byte(r - 0xE0000)
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c == ' ' {
					b.space(p, q)
				} else {
					b.emitMapped(string(rune(c)), p, q)
					b.lastSpace = false
				}
			}
		default:
			b.endTags()
			f := ri.fold
			if f == "" {
				continue
			}
			b.letter(ri.letter)
			if f == " " {
				b.space(p, q)
				continue
			}
			b.emitMapped(f, p, q)
			b.lastSpace = false
		}
	}
}

// asciiRun appends the run of ASCII bytes of s from i on, each mapped to
// its own byte of Src (base+i), and returns where the run ends. It is the
// fast path of runes for the bytes most documents are made of: a byte is
// lower-cased and copied, a whitespace byte becomes a space unless the view
// already ends in one, and offsets stay exact so that an anchor is added
// only after whitespace was collapsed. The caller has no tag characters or
// zero-width characters pending, which ASCII never adds.
func (b *builder) asciiRun(s []byte, base, i int) int {
	t := b.t
	norm := t.Norm
	// exact reports whether the next byte appended at out from Src
	// offset p continues the last anchor.
	n := len(t.anchors)
	cont := n > 0 && t.anchors[n-1].exact
	var delta int // p - out along the last anchor
	if cont {
		delta = t.anchors[n-1].src - t.anchors[n-1].out
	}
	lastSpace := b.lastSpace
	start := i
	for i < len(s) {
		// Eight bytes of plain prose at a time, while they are.
		if i+8 <= len(s) {
			if v := binary.LittleEndian.Uint64(s[i:]); proseBlock(v, lastSpace) {
				if p := base + i; !cont || p-len(norm) != delta {
					t.Norm = norm
					t.anchors = append(t.anchors, anchor{out: len(norm), src: p, exact: true})
					cont, delta = true, p-len(norm)
				}
				norm = binary.LittleEndian.AppendUint64(norm, lowerBlock(v))
				lastSpace = v>>56 == ' '
				i += 8
				continue
			}
		}
		c := s[i]
		if c >= 0x80 {
			break
		}
		p := base + i
		if asciiSpace[c] {
			i++
			if lastSpace {
				continue
			}
			lastSpace = true
			if !cont || p-len(norm) != delta {
				t.Norm = norm
				t.anchors = append(t.anchors, anchor{out: len(norm), src: p, exact: true})
				cont, delta = true, p-len(norm)
			}
			norm = append(norm, ' ')
			continue
		}
		// A word (a run of bytes that are neither spaces nor non-ASCII)
		// is copied lower-cased, under one anchor check.
		if !cont || p-len(norm) != delta {
			t.Norm = norm
			t.anchors = append(t.anchors, anchor{out: len(norm), src: p, exact: true})
			cont, delta = true, p-len(norm)
		}
		lastSpace = false
		w := i + 1
		for w < len(s) && asciiWord[s[w]] {
			w++
		}
		norm = appendLower(norm, s[i:w])
		i = w
	}
	t.Norm = norm
	b.lastSpace = lastSpace
	if i > start {
		// Only the last byte read says whether a letter came last.
		c := asciiLower[s[i-1]]
		b.prevLetter = 'a' <= c && c <= 'z'
	}
	return i
}

var asciiSpace = [128]bool{' ': true, '\t': true, '\n': true, '\r': true, '\f': true, '\v': true}

// proseBlock reports whether the eight bytes of v (in memory order) are
// copied as they are, lower-cased, by asciiRun: ASCII from ' ' on, with
// no two spaces in a row (nor a space first after the space the view
// ends in, when lastSpace): every byte maps to its own, no space run
// collapses, no anchor is needed inside.
func proseBlock(v uint64, lastSpace bool) bool {
	// A byte below ' ' (a tab, a line break) or from 0x80 on: the
	// subtraction borrows into the high bit only below ' ' for bytes
	// under 0x80, and v's own high bit marks the others.
	if ((v-swar.Ones*' ')&^v|v)&swar.Highs != 0 {
		return false
	}
	sp := swar.Equal(v, ' ') // v is ASCII from here
	if sp&(sp>>8) != 0 {
		return false
	}
	return !lastSpace || sp&0x80 == 0
}

// lowerBlock lower-cases the ASCII letters of eight bytes from ' ' to
// 0x7f: a byte from 'A' to 'Z' gains 0x20. No sum carries into the next
// byte, every byte being below 0x80.
func lowerBlock(v uint64) uint64 {
	return v | (swar.AtLeast(v, 'A')&swar.AtMost(v, 'Z'))>>2
}

// asciiWord marks the bytes of a word for asciiRun: ASCII, not a space.
var asciiWord = func() (w [256]bool) {
	for c := range 0x80 {
		w[c] = !asciiSpace[c]
	}
	return
}()

// appendLower appends the ASCII bytes of w to dst lower-cased: copied
// whole, then the capitals changed in place, which costs less than
// appending byte by byte.
func appendLower(dst, w []byte) []byte {
	n := len(dst)
	dst = append(dst, w...)
	for k, c := range dst[n:] {
		dst[n+k] = asciiLower[c&0x7f]
	}
	return dst
}

var asciiLower = func() (l [128]byte) {
	for i := range l {
		l[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			l[i] = byte(i + 'a' - 'A')
		}
	}
	return
}()

// letter notes whether the rune just read is a letter, counting zero-width
// characters seen between it and the previous letter.
func (b *builder) letter(isLetter bool) {
	if isLetter && len(b.pendingZW) > 0 {
		b.t.Stats.ZeroWidthInWords += len(b.pendingZW)
		for _, p := range b.pendingZW {
			b.t.Stats.ZeroWidthAt = appendCapped(b.t.Stats.ZeroWidthAt, p)
		}
	}
	b.pendingZW = b.pendingZW[:0]
	b.prevLetter = isLetter
}

// endTags closes a run of tag characters as a hidden region.
func (b *builder) endTags() {
	if b.tagStart >= 0 {
		b.t.Hidden = append(b.t.Hidden, Region{Start: b.tagStart, End: len(b.t.Norm), Reason: "unicode tag characters"})
		b.tagStart = -1
	}
}

func appendCapped(s []int, p int) []int {
	if len(s) < 32 {
		s = append(s, p)
	}
	return s
}

func (b *builder) done() *Text {
	b.endTags()
	return b.t
}

// Phrase normalises a rule's keyword the way documents are normalised.
func Phrase(s string) string {
	b := newBuilder([]byte(s))
	b.text(0, len(s))
	n := b.done().Norm
	for len(n) > 0 && n[len(n)-1] == ' ' {
		n = n[:len(n)-1]
	}
	return string(n)
}

// RegexSource maps the non-ASCII runes of a regular expression the way
// documents are normalised, leaving its ASCII syntax alone, so that a rule
// written in Russian or Japanese matches the normalised text.
func RegexSource(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		if classify(r) == classSpace {
			out = append(out, ' ')
			continue
		}
		if classify(r) != classPlain {
			continue
		}
		out = append(out, fold(r)...)
	}
	return string(out)
}

// NormSpan maps a range of Src to the range of Norm made from it (the
// inverse of SrcSpan), for detectors that find things in the original
// bytes, such as URLs.
func (t *Text) NormSpan(start, end int) (int, int) {
	first := func(pos int) int {
		lo, hi := 0, len(t.Norm)
		for lo < hi {
			m := (lo + hi) / 2
			if s, _ := t.SrcSpan(m, m+1); s < pos {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo
	}
	ns := first(start)
	ne := first(end)
	if ne < ns {
		ne = ns
	}
	return ns, ne
}
