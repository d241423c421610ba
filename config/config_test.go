package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load("example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Durability != "strict" || c.Filter.MaxMessageBytes != 64<<20 || c.Filter.ShutdownTimeout.Duration != 5*time.Second || c.Filter.MaxPending != 10000 {
		t.Fatalf("example.toml read as %+v", c)
	}
	p := c.Build()
	if e := p.For("wiki", "tools/call", ""); e.Mode != "monitor" || !e.FailToolCall {
		t.Fatalf("example.toml policy for wiki tools/call: %+v", e)
	}
	if e := p.For("kb", "resources/read", "file:///kb/finance/x"); e.Threshold != 0.3 || e.On["suspicious"] != "block" {
		t.Fatalf("example.toml policy for finance: %+v", e)
	}
	if len(c.Review.Reviewers) != 1 || c.Review.Listen != "127.0.0.1:7878" {
		t.Fatalf("example.toml review: %+v", c.Review)
	}
	if c.Baselines.On["drifted"] != "quarantine" || c.Baselines.ReloadInterval.Duration != 2*time.Second || len(c.Baselines.RequireSignature) != 1 {
		t.Fatalf("example.toml baselines read as %+v", c.Baselines)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "[store]\ndurabilty = \"strict\"\n", "unknown setting store.durabilty"},
		{"bad duration", "[filter]\nshutdown_timeout = \"soon\"\n", "invalid duration"},
		{"not toml", "[store\n", "config:"},
		{"unknown outcome", "[baselines.on]\nchanged = \"block\"\n", `"changed" is not an outcome`},
		{"unknown decision", "[baselines.on]\ndrifted = \"drop\"\n", `"drop" is not a decision`},
		{"unknown required decision", "[baselines]\nrequired = \"hold\"\n", `"hold" is not a decision`},
		{"unknown policy mode", "[policy]\nmode = \"audit\"\n", `mode "audit"`},
		{"bad rule outcome", "[[policy.rules]]\nserver = \"x\"\n[policy.rules.on]\nweird = \"pass\"\n", `policy.rules[0]: on: "weird"`},
		{"short reviewer token", "[[review.reviewers]]\nname = \"r\"\ntoken = \"short\"\n", "at least 16 characters"},
		{"shared reviewer token", "[[review.reviewers]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n[[review.reviewers]]\nname = \"b\"\ntoken = \"0123456789abcdef\"\n", "share a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.toml")
			os.WriteFile(p, []byte(tt.body), 0o600)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("a missing file loads")
	}
}
