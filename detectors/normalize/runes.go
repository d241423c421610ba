package normalize

import (
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"go.mau.fi/util/confusable"
	"golang.org/x/text/unicode/norm"
)

// Rune classes the builder treats specially.
const (
	classPlain     = iota
	classSpace     // becomes one space
	classZeroWidth // invisible joiners and spaces: dropped, counted
	classSoftHyphen
	classBidiOverride // U+202D, U+202E: reverse what is shown
	classBidiOther    // embeddings, isolates, marks: dropped, legitimate in RTL text
	classTag          // U+E0000 block: decoded to ASCII
	classFormat       // other invisible format characters: dropped
)

func classify(r rune) int {
	switch {
	case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
		return classSpace
	case r < 0x80:
		return classPlain
	case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x180E || r == 0x2061 || r == 0x2062 || r == 0x2063 || r == 0x2064:
		return classZeroWidth
	case r == 0x00AD:
		return classSoftHyphen
	case r == 0x202D || r == 0x202E:
		return classBidiOverride
	case r == 0x202A || r == 0x202B || r == 0x202C || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C:
		return classBidiOther
	case r >= 0xE0000 && r <= 0xE007F:
		return classTag
	case unicode.IsSpace(r):
		return classSpace
	case unicode.Is(unicode.Cf, r) || (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF):
		return classFormat
	}
	return classPlain
}

// runeInfo is what the builder needs to know of a non-ASCII rune.
type runeInfo struct {
	class  int
	fold   string // for classPlain
	letter bool   // isLetter
}

// infos holds each BMP rune's runeInfo, computed on first sight: the same
// few scripts recur in a document, and classifying and folding a rune
// costs table searches, a decomposition and a confusables lookup.
var infos [0x10000]atomic.Pointer[runeInfo]

// info returns the runeInfo of a non-ASCII rune: kept for the BMP, made
// again (on the stack) for the rare runes beyond it.
func info(r rune) runeInfo {
	if r < 0x10000 {
		if p := infos[r].Load(); p != nil {
			return *p
		}
		ri := newInfo(r)
		infos[r].Store(&ri)
		return ri
	}
	return newInfo(r)
}

func newInfo(r rune) runeInfo {
	ri := runeInfo{class: classify(r)}
	if ri.class == classPlain {
		ri.fold = foldSlow(r)
		ri.letter = isLetter(r)
	}
	return ri
}

// fold returns the normalised form of a plain (non-space, non-format) rune:
// compatibility-decomposed, combining marks dropped, lower-cased, and mapped
// to its ASCII look-alike where UTS #39 has one.
func fold(r rune) string {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return string(r)
	}
	return info(r).fold
}

func foldSlow(r rune) string {
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	decomposed := norm.NFKD.Bytes(buf[:n])
	out := make([]byte, 0, len(decomposed))
	for len(decomposed) > 0 {
		q, size := utf8.DecodeRune(decomposed)
		decomposed = decomposed[size:]
		switch {
		case unicode.In(q, unicode.Mn, unicode.Me):
			continue
		case unicode.IsSpace(q):
			out = append(out, ' ')
			continue
		case classify(q) != classPlain:
			continue
		}
		q = unicode.ToLower(q)
		if q >= 0x80 {
			if rep := confusable.GetReplacement(q); rep != "" && isASCIIPrintable(rep) {
				for i := 0; i < len(rep); i++ {
					c := rep[i]
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					out = append(out, c)
				}
				continue
			}
		}
		out = utf8.AppendRune(out, q)
	}
	return string(out)
}

// isASCIIPrintable reports whether a confusable's replacement is plain
// ASCII: letters for look-alike letters, and ' " - for typographic quotes
// and dashes, so that rules need not spell every variant.
func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return s != ""
}

// isLetter reports whether r is a letter of a script in which an invisible
// joiner inside a word has no use (Latin, Greek, Cyrillic): zero-width
// characters between two such letters hide a word from matching. In Arabic
// and Persian script, and between emoji, the same characters are ordinary.
func isLetter(r rune) bool {
	return unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic) && unicode.IsLetter(r)
}
