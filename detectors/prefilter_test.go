package detectors

import (
	"strings"
	"testing"
)

func TestPrefilter(t *testing.T) {
	tests := []struct {
		pattern, want string
	}{
		{`(?:ask|request)\s+(?:the\s+)?(?:user|customer)\s+for`, "{for} {ask|request} {user|customer}"},
		{`(?:ai|ai assistants?|llm|llms)\s+(?:reading|read)`, "{read} {ai|llm}"}, // a literal that contains another adds nothing
		{`summari[sz]e\s+now`, "{summari} {now}"},
		{`(?:x|y)\s+foo`, "{foo}"}, // one-letter literals give no filter
		{`.*anything`, "{anything}"},
	}
	for _, tt := range tests {
		if got := newPrefilter(tt.pattern).String(); got != tt.want {
			t.Errorf("prefilter(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
	pf := newPrefilter(`(?:ask|request)\s+(?:the\s+)?(?:user|customer)\s+for`)
	for _, text := range []string{"please ask the user for the code", "ask the team about it", "for customer, request", "", "fo"} {
		var pairs bytePairs
		pairs.set([]byte(text))
		want := true
		for _, part := range pf {
			found := false
			for _, l := range part {
				found = found || strings.Contains(text, string(l))
			}
			want = want && found
		}
		if got := pf.match([]byte(text), nil); got != want {
			t.Errorf("prefilter on %q = %v, want %v", text, got, want)
		}
		if got := pf.match([]byte(text), &pairs); got != want {
			t.Errorf("prefilter with byte pairs on %q = %v, want %v", text, got, want)
		}
	}
}
