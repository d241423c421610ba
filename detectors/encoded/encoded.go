// Package encoded finds encoded payloads in content (base64, hex,
// percent-encoding, rot13) and decodes them, so that the engine can scan
// what they carry. It finds and decodes; it does not judge: a base64 test
// fixture that decodes to an image is not suspicious, one that decodes to
// "ignore your instructions" is, and that is for the detectors to say.
package encoded

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime/quotedprintable"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Candidate is an encoded run of the content and what it decodes to.
type Candidate struct {
	// Kind is "base64", "hex", "url" or "rot13".
	Kind       string
	Start, End int
	Decoded    []byte
}

// Limits bound the work on one document.
type Limits struct {
	// MinLen is the shortest run worth decoding (default 24 bytes).
	MinLen int
	// MaxDecoded bounds the bytes decoded from one document (default 1 MiB).
	MaxDecoded int
}

// Find returns the encoded runs of src whose decoding is mostly printable
// text (binary fixtures and images are not scanned again).
func Find(src []byte, lim Limits) []Candidate {
	if lim.MinLen <= 0 {
		lim.MinLen = 24
	}
	if lim.MaxDecoded <= 0 {
		lim.MaxDecoded = 1 << 20
	}
	var out []Candidate
	budget := lim.MaxDecoded
	add := func(c Candidate) bool {
		if budget <= 0 {
			return false
		}
		if len(c.Decoded) > budget {
			c.Decoded = c.Decoded[:budget]
		}
		budget -= len(c.Decoded)
		if textual(c.Decoded) {
			out = append(out, c)
		}
		return true
	}
	// A run shorter than this is neither decoded nor joined to the next
	// line.
	short := min(lim.MinLen, 40)
	// Runs shorter than that are most of a text's words: the scan looks
	// only for the longer ones (nextRun), and steps over the rest without
	// reading most of their bytes.
	for i := 0; i < len(src); {
		s, j, ok := nextRun(src, i, short, classB64)
		if !ok {
			break
		}
		i = s
		for p := 0; p < 2 && j < len(src) && src[j] == '='; p++ {
			j++ // padding ends a run
		}
		if j < len(src) && src[j] == '=' || (j > i && src[j-1] == '=' && j < len(src) && isB64(src[j])) {
			// "key=value": the run so far was a key, not a payload.
			i = j
			continue
		}
		// A wrapped block (MIME, PEM-style, YAML): lines of 40 or more
		// base64 characters continue on the next line.
		var joined []byte
		for j-i >= 40 && j < len(src) && (src[j] == '\n' || src[j] == '\r') {
			k := j
			for k < len(src) && (src[k] == '\n' || src[k] == '\r' || src[k] == ' ' || src[k] == '\t') {
				k++
			}
			e := k
			for e < len(src) && (isB64(src[e]) || src[e] == '=') {
				e++
			}
			if e-k < 4 || (e < len(src) && src[e] != '\n' && src[e] != '\r') {
				break
			}
			if joined == nil {
				joined = append([]byte{}, src[i:j]...)
			}
			joined = append(joined, src[k:e]...)
			j = e
		}
		run := src[i:j]
		if joined != nil {
			run = joined
		}
		if len(run) >= lim.MinLen {
			if isHexRun(run) {
				if len(run)%2 == 0 {
					if d, err := hex.DecodeString(string(run)); err == nil && !add(Candidate{Kind: "hex", Start: i, End: j, Decoded: d}) {
						return out
					}
				}
			} else if d, ok := decodeB64(run); ok && !add(Candidate{Kind: "base64", Start: i, End: j, Decoded: d}) {
				return out
			}
		}
		i = j
	}
	for _, c := range escapes(src) {
		if !add(c) {
			return out
		}
	}
	// Percent-encoding: runs with at least three escapes.
	for i := 0; i < len(src); {
		p := bytes.IndexByte(src[i:], '%')
		if p < 0 {
			break
		}
		s := i + p
		e := s
		escapes := 0
		for e < len(src) && !isSpace(src[e]) && src[e] != '"' && src[e] != '\'' && src[e] != '<' && src[e] != ')' {
			if src[e] == '%' && e+2 < len(src) && isHex(src[e+1]) && isHex(src[e+2]) {
				escapes++
			}
			e++
		}
		if escapes >= 3 && e-s >= lim.MinLen/2 {
			// Start at the beginning of the token, not at its first escape.
			for s > 0 && !isSpace(src[s-1]) && src[s-1] != '"' && src[s-1] != '\'' && src[s-1] != '(' && src[s-1] != '=' && src[s-1] != '?' && src[s-1] != '&' {
				s--
			}
			if d, err := url.QueryUnescape(string(src[s:e])); err == nil && d != string(src[s:e]) {
				if !add(Candidate{Kind: "url", Start: s, End: e, Decoded: []byte(d)}) {
					return out
				}
			}
		}
		i = max(e, s+1)
	}
	return out
}

// Rot13 returns the rot13 of src (letters rotated, everything else kept).
func Rot13(src []byte) []byte {
	out := make([]byte, len(src))
	for i, c := range src {
		switch {
		case 'a' <= c && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case 'A' <= c && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		}
		out[i] = c
	}
	return out
}

func isB64(c byte) bool { return classes[c]&classB64 != 0 }

func isHex(c byte) bool { return classes[c]&classHex != 0 }

func isHexRun(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeB64 decodes standard or URL-safe base64, padded or not. A run of
// plain words (no digits, no mixed case) is not taken for base64.
func decodeB64(run []byte) ([]byte, bool) {
	var upper, lower, digit bool
	for _, c := range run {
		upper = upper || 'A' <= c && c <= 'Z'
		lower = lower || 'a' <= c && c <= 'z'
		digit = digit || '0' <= c && c <= '9' || c == '+' || c == '/'
	}
	if !(upper && lower) {
		return nil, false
	}
	s := bytes.TrimRight(run, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		// A run may continue past the payload (text glued to it); take the
		// longest decodable prefix of whole quanta.
		n := len(s) - len(s)%4
		if len(s)%4 >= 2 {
			n = len(s)
		}
		if d, err := enc.DecodeString(string(s[:n])); err == nil {
			return d, true
		}
	}
	return nil, false
}

// textual reports whether decoded bytes are text worth scanning: valid
// UTF-8, mostly printable.
func textual(b []byte) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	printable := 0
	for _, r := range string(b) {
		if r >= 0x20 || r == '\n' || r == '\t' || r == '\r' {
			printable++
		}
	}
	return printable*10 >= utf8.RuneCount(b)*9
}

// qpRun matches quoted-printable text; it runs only on documents that
// carry "=20" or say "quoted-printable".
var qpRun = regexp.MustCompile(`(?:[^\s=]*=[0-9A-F]{2}[^\s=]*){4,}(?:[ \t]*=?\r?\n[^\n]*=[0-9A-F]{2}[^\n]*)*`)

// escapes finds payloads written as escapes rather than a single run:
// space-separated hex bytes, \x and \u escapes in code, base32, and
// quoted-printable.
func escapes(src []byte) []Candidate {
	var out []Candidate
	for _, m := range spacedHexRuns(src) {
		h := strings.NewReplacer(" ", "", ":", "").Replace(string(src[m[0]:m[1]]))
		if d, err := hex.DecodeString(h); err == nil {
			out = append(out, Candidate{Kind: "hex", Start: m[0], End: m[1], Decoded: d})
		}
	}
	for _, m := range escapeRuns(src, `\x`, 2) {
		h := strings.ReplaceAll(string(src[m[0]:m[1]]), `\x`, "")
		if d, err := hex.DecodeString(h); err == nil {
			out = append(out, Candidate{Kind: "hex", Start: m[0], End: m[1], Decoded: d})
		}
	}
	for _, m := range escapeRuns(src, `\u`, 4) {
		if d, err := strconv.Unquote(`"` + string(src[m[0]:m[1]]) + `"`); err == nil {
			out = append(out, Candidate{Kind: "unicode-escapes", Start: m[0], End: m[1], Decoded: []byte(d)})
		}
	}
	for _, m := range base32Runs(src) {
		run := string(src[m[0]:m[1]])
		if d, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(run, "=")); err == nil {
			out = append(out, Candidate{Kind: "base32", Start: m[0], End: m[1], Decoded: d})
		}
	}
	if bytes.Contains(src, []byte("=20")) || containsFold(src, "quoted-printable") {
		for _, m := range qpRuns(src) {
			d, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(src[m[0]:m[1]])))
			if err == nil && len(d) > 0 {
				out = append(out, Candidate{Kind: "quoted-printable", Start: m[0], End: m[1], Decoded: d})
			}
		}
	}
	return out
}
