package encoded

import "bytes"

// The scanners below find the escape-style payloads in one pass over the
// bytes each. They replace regular expressions that cost more than the rest
// of the scan put together on large documents (Go's regexp steps an NFA over
// every byte when a pattern has no literal prefix). runs_test.go checks each
// against the expression it replaces.

// maxRuns bounds the runs of one kind taken from a document.
const maxRuns = 64

// spacedHexRuns finds hex bytes separated by spaces or colons, 13 or more:
// `(?:\b[0-9a-fA-F]{2}[ :]){12,}[0-9a-fA-F]{2}\b`.
func spacedHexRuns(src []byte) [][2]int {
	hex, _ := wordRuns(src)
	return hex
}

// wordRuns finds the spaced hex runs and the base32 runs of src in one pass
// over its words: both begin at the start of a word, a spaced hex run with
// a word of two hex digits and a base32 run with a word of 24 or more
// bytes, so most words are passed over at a glance.
func wordRuns(src []byte) (hex, b32 [][2]int) {
	var w wordRunner
	w.words(src, 0, len(src))
	return w.hex, w.b32
}

// wordRunner collects the spaced hex and base32 runs from the words of a
// text, given in order: by wordRuns, or by Find's pass over the base64
// runs, which holds every word.
type wordRunner struct {
	hex, b32 [][2]int
	// A run of one kind does not start inside the previous one.
	hexNext, b32Next int
}

// words hands the words that begin in src[from:to] to word.
func (w *wordRunner) words(src []byte, from, to int) {
	for i := from; i < to && !w.full(); {
		if !isWord(src[i]) {
			i++
			continue
		}
		// i starts a word: the byte before it, if any, is not a word
		// byte (from is the start of src or follows a byte that is not).
		j := i + 1
		for j < len(src) && isWord(src[j]) {
			j++
		}
		w.word(src, i, j)
		i = j
	}
}

func (w *wordRunner) full() bool { return len(w.hex) >= maxRuns && len(w.b32) >= maxRuns }

// word takes the word src[i:j] (whole: no word byte on either side).
func (w *wordRunner) word(src []byte, i, j int) {
	n := len(src)
	switch {
	case j-i == 2 && i >= w.hexNext && len(w.hex) < maxRuns && isHex(src[i]) && isHex(src[i+1]):
		if end := spacedHexAt(src, i); end >= 0 {
			w.hex = append(w.hex, [2]int{i, end})
			w.hexNext = end
		}
	case j-i >= 24 && i >= w.b32Next && len(w.b32) < maxRuns && isBase32(src[i]):
		k := i + 1
		for k < n && isBase32(src[k]) {
			k++
		}
		if k-i >= 24 {
			for k < n && src[k] == '=' {
				k++
			}
			w.b32 = append(w.b32, [2]int{i, k})
			w.b32Next = k
		}
	}
}

// spacedHexAt returns the end of the spaced hex run that starts at i (two
// hex digits at the start of a word), or -1 when there is none.
func spacedHexAt(src []byte, i int) int {
	groups, j := 0, i
	for j+2 < len(src) && isHex(src[j]) && isHex(src[j+1]) && (src[j+2] == ' ' || src[j+2] == ':') {
		groups++
		j += 3
	}
	end := -1
	switch {
	case j+1 < len(src) && isHex(src[j]) && isHex(src[j+1]) && (j+2 == len(src) || !isWord(src[j+2])):
		end = j + 2 // a final pair ends the run
	case groups > 0:
		groups-- // the last separated pair is the final one
		end = j - 1
	}
	if groups < 12 {
		return -1
	}
	return end
}

// escapeRuns finds eight or more consecutive escapes of the form prefix
// followed by digits hex digits: `(?:\\x[0-9a-fA-F]{2}){8,}` for prefix
// `\x` and 2 digits, `(?:\\u[0-9a-fA-F]{4}){8,}` for `\u` and 4.
func escapeRuns(src []byte, prefix string, digits int) [][2]int {
	var out [][2]int
	width := len(prefix) + digits
	for i := 0; len(out) < maxRuns; {
		p := bytes.Index(src[i:], []byte(prefix))
		if p < 0 {
			break
		}
		s := i + p
		e := s
		for e+width <= len(src) && string(src[e:e+len(prefix)]) == prefix && allHex(src[e+len(prefix):e+width]) {
			e += width
		}
		if (e-s)/width >= 8 {
			out = append(out, [2]int{s, e})
			i = e
			continue
		}
		i = s + 1
	}
	return out
}

// base32Runs finds runs of 24 or more base32 letters starting at a word
// boundary, with their padding: `\b[A-Z2-7]{24,}=*`.
func base32Runs(src []byte) [][2]int {
	_, b32 := wordRuns(src)
	return b32
}

// containsFold reports whether src contains the lower-case ASCII word w in
// any case, without copying src.
func containsFold(src []byte, w string) bool {
	firsts := string([]byte{w[0], w[0] - 'a' + 'A'})
	for i := 0; i+len(w) <= len(src); i++ {
		p := bytes.IndexAny(src[i:len(src)-len(w)+1], firsts)
		if p < 0 {
			return false
		}
		i += p
		if bytes.EqualFold(src[i:i+len(w)], []byte(w)) {
			return true
		}
	}
	return false
}

// Byte classes, looked up rather than compared: these scanners touch
// every byte of a document.
const (
	classWord = 1 << iota
	classHex
	classBase32
	classB64
)

var classes = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		if 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_' {
			t[c] |= classWord
		}
		if '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F' {
			t[c] |= classHex
		}
		if 'A' <= b && b <= 'Z' || '2' <= b && b <= '7' {
			t[c] |= classBase32
		}
		if 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '+' || b == '/' || b == '-' || b == '_' {
			t[c] |= classB64
		}
	}
	return
}()

func isWord(c byte) bool { return classes[c]&classWord != 0 }

func isBase32(c byte) bool { return classes[c]&classBase32 != 0 }

func allHex(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// qpRuns finds quoted-printable text, as qpRun does, running the expression
// only on blocks of consecutive lines that carry "=HH" escapes: every line a
// match touches carries one, so no match crosses a block's edge.
func qpRuns(src []byte) [][2]int {
	const limit = 16
	var out [][2]int
	blockStart, blockEnd := -1, -1
	flush := func() {
		if blockStart < 0 {
			return
		}
		for _, m := range qpRun.FindAllIndex(src[blockStart:blockEnd], limit-len(out)) {
			out = append(out, [2]int{blockStart + m[0], blockStart + m[1]})
		}
		blockStart = -1
	}
	for line := 0; line < len(src) && len(out) < limit; {
		end := bytes.IndexByte(src[line:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += line
		}
		if hasQPEscape(src[line:end]) {
			if blockStart < 0 {
				blockStart = line
			}
			blockEnd = end
		} else {
			flush()
		}
		line = end + 1
	}
	if len(out) < limit {
		flush()
	}
	return out
}

func hasQPEscape(line []byte) bool {
	for {
		i := bytes.IndexByte(line, '=')
		if i < 0 || i+2 >= len(line) {
			return false
		}
		if isUpperHex(line[i+1]) && isUpperHex(line[i+2]) {
			return true
		}
		line = line[i+1:]
	}
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
