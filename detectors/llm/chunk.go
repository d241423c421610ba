package llm

import (
	"bytes"
	"unicode/utf8"
)

// EstimateTokens estimates how many tokens a text costs without a
// tokenizer: a token per four ASCII bytes (English runs at about four
// characters a token), and one per other character (a CJK character is
// about one token; accented Latin less). It errs on the high side, so that
// a chunk stays within the budget for any model.
func EstimateTokens(b []byte) int {
	ascii, other := 0, 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, n := utf8.DecodeRune(b[i:])
		other++
		i += n
	}
	return (ascii+3)/4 + other
}

// span is a chunk of a document: b[Start:End].
type span struct{ Start, End int }

// overlap is how many bytes a chunk repeats of the one before it (at most
// an eighth of that chunk), so that a sentence cut at a chunk's end is
// whole in the next one.
const overlap = 256

// chunks cuts b into chunks of at most budget tokens each, at most max of
// them, and reports whether the document was longer than that. Cuts fall at
// a paragraph, line or sentence end near the budget when there is one, and
// always on a UTF-8 boundary.
func chunks(b []byte, budget, max int) (out []span, partial bool) {
	if len(b) == 0 {
		return []span{{0, 0}}, false
	}
	start := 0
	for start < len(b) {
		if len(out) == max {
			return out, true
		}
		end := cutAt(b, start, budget)
		out = append(out, span{start, end})
		if end == len(b) {
			break
		}
		next := end - min(overlap, (end-start)/8)
		if next <= start {
			next = end
		}
		for next < end && !utf8.RuneStart(b[next]) {
			next++
		}
		start = next
	}
	return out, false
}

// cutAt returns where a chunk that starts at start ends: as far as budget
// tokens reach, pulled back to a natural break in the last fifth.
func cutAt(b []byte, start, budget int) int {
	tokens, ascii := 0, 0
	i := start
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			ascii++
			if ascii == 4 {
				ascii = 0
				tokens++
			}
			if tokens >= budget {
				break
			}
			i++
			continue
		}
		tokens++
		if tokens >= budget {
			break
		}
		_, n := utf8.DecodeRune(b[i:])
		i += n
	}
	if i >= len(b) {
		return len(b)
	}
	floor := start + (i-start)*4/5
	window := b[floor:i]
	for _, sep := range [][]byte{[]byte("\n\n"), []byte("\n"), []byte(". "), []byte("。"), []byte(" ")} {
		if k := bytes.LastIndex(window, sep); k >= 0 {
			return floor + k + len(sep)
		}
	}
	for i > start+1 && !utf8.RuneStart(b[i]) {
		i--
	}
	if i == start {
		_, n := utf8.DecodeRune(b[start:])
		return start + n
	}
	return i
}
