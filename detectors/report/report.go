// Package report writes scan results as text for people, JSON for
// programs, and SARIF 2.1.0 for code-scanning tools, one format a file.
package report

import (
	"strings"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// File is the scan of one file (or of standard input, Path "-").
type File struct {
	Path     string
	Verdict  ctxguard.Verdict
	Score    float64
	Findings []Finding
	// Error is why the file could not be scanned; Skipped why it was not.
	Error   string
	Skipped string
}

// Finding is a finding with its place in the file for people: 1-based
// lines and columns (columns count Unicode code points), and the text.
type Finding struct {
	ctxguard.Finding
	Line, Column, EndLine, EndColumn int
	Excerpt                          string
}

// NewFile locates the findings of a scan result in content.
func NewFile(path string, content []byte, res detectors.Result) File {
	f := File{Path: path, Verdict: res.Verdict, Score: res.Score}
	for _, x := range res.Findings {
		l, c := position(content, x.Start)
		el, ec := position(content, x.End)
		f.Findings = append(f.Findings, Finding{Finding: x, Line: l, Column: c, EndLine: el, EndColumn: ec, Excerpt: excerpt(content[x.Start:x.End])})
	}
	return f
}

// position returns the 1-based line and column of a byte offset.
func position(b []byte, off int) (line, col int) {
	off = min(off, len(b))
	line = 1 + strings.Count(string(b[:off]), "\n")
	ls := strings.LastIndexByte(string(b[:off]), '\n') + 1
	return line, 1 + utf8.RuneCount(b[ls:off])
}

// excerpt returns text safe to print on a terminal or in a log: control
// and invisible characters made visible, at most 120 characters.
func excerpt(b []byte) string {
	var sb strings.Builder
	n := 0
	for _, r := range string(b) {
		if n == 120 {
			sb.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			sb.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || (r >= 0xe0000 && r <= 0xe007f):
			sb.WriteString(strings.ToUpper(strings.TrimPrefix(utf8Esc(r), "")))
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func utf8Esc(r rune) string {
	const hexdigits = "0123456789ABCDEF"
	if r < 0x10000 {
		return "<U+" + string([]byte{hexdigits[r>>12&0xF], hexdigits[r>>8&0xF], hexdigits[r>>4&0xF], hexdigits[r&0xF]}) + ">"
	}
	return "<U+" + string([]byte{hexdigits[r>>16&0xF], hexdigits[r>>12&0xF], hexdigits[r>>8&0xF], hexdigits[r>>4&0xF], hexdigits[r&0xF]}) + ">"
}
