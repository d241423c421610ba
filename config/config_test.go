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
	if l := c.LLM; !l.Enabled() || l.Model != "llama3.1:8b" || l.KeyEnv != "CTXGUARD_LLM_API_KEY" || len(l.GreyBand) != 2 || l.GreyBand[1] != 0.6 ||
		l.Timeout.Duration != 10*time.Second || l.Concurrency != 4 || l.ChunkTokens != 3000 || l.MaxChunks != 8 || l.MaxTokens != 512 ||
		*l.Retries != 3 || !*l.JSONSchema || l.Fail != "open" || l.AlwaysPrefixes[0] != "file:///kb/finance/" || l.CacheSize != 4096 {
		t.Fatalf("example.toml llm read as %+v", l)
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
		{"llm url without model", "[llm]\nurl = \"http://127.0.0.1:8000/v1\"\n", "url and model go together"},
		{"llm url not http", "[llm]\nurl = \"ftp://h/v1\"\nmodel = \"m\"\n", "not an http(s) URL"},
		{"llm url with credentials", "[llm]\nurl = \"https://u:p@h/v1\"\nmodel = \"m\"\n", "must not carry credentials"},
		{"llm key in key_env", "[llm]\nkey_env = \"sk-proj-abc123\"\n", "not the key itself"},
		{"llm band reversed", "[llm]\ngrey_band = [0.6, 0.2]\n", "0 <= low < high <= 1"},
		{"llm band of three", "[llm]\ngrey_band = [0.1, 0.2, 0.3]\n", "llm.grey_band"},
		{"llm band above 1", "[llm]\ngrey_band = [0.2, 1.5]\n", "llm.grey_band"},
		{"llm fail", "[llm]\nfail = \"maybe\"\n", `llm.fail: "maybe"`},
		{"llm chunk budget", "[llm]\nchunk_tokens = 10\n", "too small"},
		{"llm retries", "[llm]\nretries = -1\n", "llm.retries"},
		{"llm timeout", "[llm]\ntimeout = \"-1s\"\n", "llm.timeout"},
		{"llm unknown key", "[llm]\napi_key = \"sk-x\"\n", "unknown setting llm.api_key"},
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

// A key put in key_env by mistake is not echoed in the error, which may
// end up in logs.
func TestLLMKeyNotEchoed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[llm]\nurl = \"https://api.example/v1\"\nmodel = \"m\"\nkey_env = \"sk-proj-SECRET123\"\n"), 0o600)
	_, err := Load(p)
	if err == nil || strings.Contains(err.Error(), "SECRET123") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("[llm]\nurl = \"http://127.0.0.1:8000/v1\"\nmodel = \"m\"\nkey_env = \"VLLM_KEY\"\ngrey_band = [0, 1]\nfail = \"closed\"\n"), 0o600)
	c, err := Load(p)
	if err != nil || !c.LLM.Enabled() || c.LLM.Fail != "closed" || c.LLM.GreyBand[1] != 1 {
		t.Fatalf("%+v, %v", c.LLM, err)
	}
}
