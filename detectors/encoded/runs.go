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
// `(?:\b[0-9a-fA-F]{2}[ :]){12,}[0-9a-fA-F]{2}\b`. Such a run is made of
// hex digits, spaces and colons only and is long, so it is looked for only
// in the long runs of those bytes (nextRun), at the words that begin there.
func spacedHexRuns(src []byte) [][2]int {
	var out [][2]int
	next := 0 // a run does not start inside the previous one
	for from := 0; len(out) < maxRuns; {
		s, e, ok := nextRun(src, from, minSpacedHex, classSpacedHex)
		if !ok {
			break
		}
		i := s
		for i > 0 && i < e && isWord(src[i-1]) && isWord(src[i]) {
			i++ // the tail of a word that began before the run
		}
		for i < e && len(out) < maxRuns {
			if !isWord(src[i]) {
				i++
				continue
			}
			j := i + 1
			for j < len(src) && isWord(src[j]) {
				j++
			}
			if j-i == 2 && i >= next && isHex(src[i]) && isHex(src[i+1]) {
				if end := spacedHexAt(src, i); end >= 0 {
					out = append(out, [2]int{i, end})
					next = end
				}
			}
			i = j
		}
		from = e
	}
	return out
}

// base32Runs finds runs of 24 or more base32 letters starting at a word
// boundary, with their padding: `\b[A-Z2-7]{24,}=*`. A long run of base32
// letters is all word bytes: it starts a word, or lies inside one that
// started before it.
func base32Runs(src []byte) [][2]int {
	var out [][2]int
	for from := 0; len(out) < maxRuns; {
		s, e, ok := nextRun(src, from, minBase32, classBase32)
		if !ok {
			break
		}
		if s == 0 || !isWord(src[s-1]) {
			k := e
			for k < len(src) && src[k] == '=' {
				k++
			}
			out = append(out, [2]int{s, k})
		}
		from = e
	}
	return out
}

// The shortest runs looked for: 13 hex pairs with 12 separators, and 24
// base32 letters.
const (
	minSpacedHex = 13*2 + 12
	minBase32    = 24
)

// nextRun returns the first run of at least n bytes of class c (whole: no
// byte of the class on either side) that begins at or after from, where
// src[from-1], if any, is not of the class or from is where the caller's
// last run ended. It reads one byte in n where the text has no such run: a
// run of n bytes covers the last byte of any n-byte window it begins in.
func nextRun(src []byte, from, n int, c uint8) (s, e int, ok bool) {
	for i := from; ; {
		q := i + n - 1
		if q >= len(src) {
			return 0, 0, false
		}
		if classes[src[q]]&c == 0 {
			i = q + 1
			continue
		}
		s, e = q, q+1
		for s > i && classes[src[s-1]]&c != 0 {
			s--
		}
		for e < len(src) && classes[src[e]]&c != 0 {
			e++
		}
		if e-s >= n {
			return s, e, true
		}
		i = e + 1 // src[e] is not of the class
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
	classSpacedHex // hex digits, space and colon
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
		if t[c]&classHex != 0 || b == ' ' || b == ':' {
			t[c] |= classSpacedHex
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
// match touches carries one, so no match crosses a block's edge. The lines
// are found from the escapes, so text with few '=' is passed over at the
// speed of one bytes.IndexByte.
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
	for from := 0; from < len(src) && len(out) < limit; {
		p := qpEscape(src, from)
		if p < 0 {
			break
		}
		line := bytes.LastIndexByte(src[:p], '\n') + 1
		end := bytes.IndexByte(src[p:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += p
		}
		// A line right after the block's last one extends it; a line
		// further on (lines without escapes between) starts a new block.
		if blockStart >= 0 && line != blockEnd+1 {
			flush()
		}
		if blockStart < 0 {
			blockStart = line
		}
		blockEnd = end
		from = end + 1
	}
	if len(out) < limit {
		flush()
	}
	return out
}

// qpEscape returns the offset of the first "=HH" escape at or after from,
// or -1.
func qpEscape(src []byte, from int) int {
	for {
		i := bytes.IndexByte(src[from:], '=')
		if i < 0 {
			return -1
		}
		p := from + i
		if p+2 < len(src) && isUpperHex(src[p+1]) && isUpperHex(src[p+2]) {
			return p
		}
		from = p + 1
	}
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
