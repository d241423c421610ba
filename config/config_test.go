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
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "[store]\ndurabilty = \"strict\"\n", "unknown setting store.durabilty"},
		{"bad duration", "[filter]\nshutdown_timeout = \"soon\"\n", "invalid duration"},
		{"not toml", "[store\n", "config:"},
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
