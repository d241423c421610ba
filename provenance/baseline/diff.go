package baseline

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"
)

// DefaultMaxDiff bounds a diff kept in a record.
const DefaultMaxDiff = 64 << 10

// Diff returns a unified diff from the signed content to the served one,
// cut at max bytes on a line boundary (truncated reports the cut). Content
// that is not text gets no diff; reason says why.
func Diff(signed, served []byte, signedLabel, servedLabel string, max int) (diff string, truncated bool, reason string) {
	if !isText(signed) || !isText(served) {
		return "", false, fmt.Sprintf("binary content differs: %d bytes signed, %d served", len(signed), len(served))
	}
	d := udiff.Unified(signedLabel, servedLabel, string(signed), string(served))
	if len(d) <= max {
		return d, false, ""
	}
	cut := strings.LastIndexByte(d[:max], '\n')
	return d[:cut+1], true, ""
}

func isText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}
