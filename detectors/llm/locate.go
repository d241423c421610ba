package llm

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
)

// maxEvidence bounds the evidence searched for: a sentence, not a chapter.
const maxEvidence = 2000

// locate finds the quoted evidence in b and returns its byte span. It tries
// the quote verbatim, then without the quotation marks or ellipses a model
// may put around it, then with any run of white space in the quote matching
// any run in the document (a model may quote a sentence that a line break
// cuts as one line). It does not paraphrase: a sentence that is not in the
// document is not found.
func locate(b []byte, evidence string) (start, end int, ok bool) {
	q := strings.TrimSpace(evidence)
	if q == "" || len(q) > maxEvidence {
		return 0, 0, false
	}
	if i := bytes.Index(b, []byte(q)); i >= 0 {
		return i, i + len(q), true
	}
	trimmed := strings.TrimFunc(q, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'“”‘’«»„`, r)
	})
	trimmed = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, "..."), "..."))
	trimmed = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, "…"), "…"))
	if trimmed == "" {
		return 0, 0, false
	}
	if i := bytes.Index(b, []byte(trimmed)); i >= 0 {
		return i, i + len(trimmed), true
	}
	words := strings.Fields(trimmed)
	if len(words) < 2 {
		return 0, 0, false
	}
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	re, err := regexp.Compile(strings.Join(words, `\s+`))
	if err != nil {
		return 0, 0, false
	}
	if m := re.FindIndex(b); m != nil {
		return m[0], m[1], true
	}
	return 0, 0, false
}
