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
