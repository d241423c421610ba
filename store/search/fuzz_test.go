package search_test

import (
	"context"
	"testing"

	"github.com/ctxguard/ctxguard/store/search"
)

// FuzzSearchQuery checks that no query string makes Search panic or
// hang; errors are fine. It searches a real index of the test queue.
func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{
		"iban", "uri:kb", "server:wiki status:pending", "detector:exfil", `"previous instructions"`,
		`uri_exact:file\:///kb/*`, "severity_rank:>=3", `created_at:>"2025-03-01T00:00:00Z"`,
		"-status:pending", "+iban -x", "ign*", "/ig.*e/", "ignore~2", "iban^3", "score:>0.5",
		`"unterminated`, "a:b:c", "+", `\`, "(", "*", "?", "~", "^", "\x00", "\xff\xfe",
	} {
		f.Add(q, false)
	}
	fx := newFixture(f)
	if _, err := fx.x.Sync(context.Background(), fx.db); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string, byScore bool) {
		_, _ = fx.x.Search(context.Background(), search.Request{Query: q, SortByScore: byScore, Limit: 3})
	})
}
