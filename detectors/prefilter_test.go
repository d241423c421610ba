package detectors

import "testing"

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
	if !pf.match([]byte("please ask the user for the code")) || pf.match([]byte("ask the team about it")) {
		t.Error("prefilter matches wrongly")
	}
}
