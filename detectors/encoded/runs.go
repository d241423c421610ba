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
	var out [][2]int
	for i := 0; i+1 < len(src) && len(out) < maxRuns; {
		if !isHex(src[i]) || !isHex(src[i+1]) || i > 0 && isWord(src[i-1]) {
			i = nextWordStart(src, i)
			continue
		}
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
		if end >= 0 && groups >= 12 {
			out = append(out, [2]int{i, end})
			i = end
			continue
		}
		i++
	}
	return out
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
	var out [][2]int
	for i := 0; i < len(src) && len(out) < maxRuns; {
		if !isBase32(src[i]) || i > 0 && isWord(src[i-1]) {
			i = nextWordStart(src, i)
			continue
		}
		j := i
		for j < len(src) && isBase32(src[j]) {
			j++
		}
		if j-i < 24 {
			i = j
			continue
		}
		for j < len(src) && src[j] == '=' {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
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

// nextWordStart returns the first position after i that may start a run
// at a word boundary: past the rest of the word at i, whose positions all
// follow a word byte.
func nextWordStart(src []byte, i int) int {
	if !isWord(src[i]) {
		return i + 1
	}
	for i++; i < len(src) && isWord(src[i]); i++ {
	}
	return i + 1
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
