// Package config reads ctxguard's TOML configuration file. The field
// comments here are the user documentation of each setting; example.toml
// shows them all.
package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file. Every setting has a default, and a
// command-line flag, where there is one, wins over the file.
type Config struct {
	Store     Store     `toml:"store"`
	Filter    Filter    `toml:"filter"`
	Detectors Detectors `toml:"detectors"`
}

// Detectors configures the injection detectors, in the filter and in
// ctxguard scan and eval.
type Detectors struct {
	// Threshold is the score at which content is suspicious (default 0.5).
	Threshold float64 `toml:"threshold"`
	// AllowHosts are hosts whose links and images are trusted by the
	// exfiltration detector (a host also covers its subdomains).
	AllowHosts []string `toml:"allow_hosts"`
	// Rules are rule files of your own, in the format of the built-in ones
	// (detectors/phrases/rules): a rule with a built-in id replaces it.
	Rules []string `toml:"rules"`
	// MaxDecodeDepth bounds how often an encoded payload is decoded and
	// scanned again (default 2).
	MaxDecodeDepth int `toml:"max_decode_depth"`
}

// Store configures the data directory's database.
type Store struct {
	// Durability is "strict" (default: every record is on disk, fsynced,
	// before the content it describes is forwarded) or "relaxed" (records
	// are in the OS cache before forwarding: a crash of ctxguard loses
	// nothing; a power loss may lose the most recent records).
	Durability string `toml:"durability"`
}

// Filter configures the inline filter.
type Filter struct {
	// MaxMessageBytes bounds one JSON-RPC message each way (default 64 MiB).
	// A larger response is withheld and its request answered with an error.
	MaxMessageBytes int `toml:"max_message_bytes"`
	// MaxPending bounds the unanswered requests of one session (default
	// 10000); requests beyond it are refused with an error.
	MaxPending int `toml:"max_pending"`
	// ShutdownTimeout is how long a wrapped server has to exit after the
	// client leaves, before SIGTERM and then SIGKILL (default "5s").
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
}

// Load reads the file at path. An empty path yields the defaults. Unknown
// keys are an error, so that a typo does not silently leave a default in
// place.
func Load(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config: %s: unknown setting %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}
