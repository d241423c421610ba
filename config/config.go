// Package config reads ctxguard's TOML configuration file. The field
// comments here are the user documentation of each setting; example.toml
// shows them all.
package config

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/policy"
)

// Config is the whole configuration file. Every setting has a default, and a
// command-line flag, where there is one, wins over the file.
type Config struct {
	Store     Store     `toml:"store"`
	Filter    Filter    `toml:"filter"`
	Detectors Detectors `toml:"detectors"`
	Baselines Baselines `toml:"baselines"`
	Policy    Policy    `toml:"policy"`
	Review    Review    `toml:"review"`
}

// PolicySettings are what the policy, or one of its rules, sets.
type PolicySettings struct {
	// Mode is "enforce" (default: held items are withheld from the
	// client) or "monitor" (they are recorded and queued, but forwarded).
	Mode string `toml:"mode"`
	// Fail is what happens to a message when a stage fails on it (a
	// detector, the store): "closed" (default: withheld, the client gets
	// an error) or "open" (forwarded as the server sent it).
	Fail string `toml:"fail"`
	// Threshold is the detectors' score at which content is suspicious
	// (default: detectors.threshold, else 0.5).
	Threshold *float64 `toml:"threshold"`
	// On maps outcomes (suspicious, clean, and the baseline outcomes) to
	// decisions (pass, annotate, quarantine, block).
	On map[string]string `toml:"on"`
	// Required is the least decision for anything but a signed match
	// under baselines.require_signature (default "quarantine").
	Required string `toml:"required"`
	// FailToolCall withholds a held item of a tool result by failing the
	// whole call (an isError result) instead of replacing the item alone.
	FailToolCall *bool `toml:"fail_tool_call"`
}

// Policy decides what happens to each item. Rules apply in order, each
// matching one overriding what it sets: put general rules first.
type Policy struct {
	PolicySettings
	Rules []PolicyRule `toml:"rules"`
}

// PolicyRule applies its settings to the items it matches; an empty match
// field matches anything.
type PolicyRule struct {
	Server    string `toml:"server"`
	Method    string `toml:"method"`
	URIPrefix string `toml:"uri_prefix"`
	PolicySettings
}

// Review configures the reviewers' web UI (ctxguard review).
type Review struct {
	// Listen is the address to serve on (default "127.0.0.1:7878").
	Listen string `toml:"listen"`
	// Reviewers are the people who may triage the queue, each with a
	// token; actions are attributed to the reviewer's name.
	Reviewers []Reviewer `toml:"reviewers"`
}

// Reviewer is one named reviewer and their token. Keep the file readable
// by its owner only.
type Reviewer struct {
	Name  string `toml:"name"`
	Token string `toml:"token"`
}

// Baselines configures the signed baselines and tool pinning in the filter.
type Baselines struct {
	// Manifests are manifest files, or directories of them (in a
	// directory, every file with a ".sig" beside it is a manifest). They
	// are loaded again when they change.
	Manifests []string `toml:"manifests"`
	// RequireSignature are URI prefixes whose documents must match a
	// signed baseline.
	RequireSignature []string `toml:"require_signature"`
	// Required is the decision for anything but a signed match under those
	// prefixes (default "quarantine").
	Required string `toml:"required"`
	// On maps outcomes (signed-match, drifted, unsigned,
	// signed-but-expired, manifest-rejected, pinned, pin-match) to decisions
	// (pass, annotate, quarantine, block). Defaults: drifted quarantine,
	// signed-but-expired and manifest-rejected annotate, the rest pass.
	On map[string]string `toml:"on"`
	// PinTools pins each server's tool definitions when first seen, so
	// that a later change shows up as a drift (default true).
	PinTools *bool `toml:"pin_tools"`
	// ReloadInterval is how often the manifests and the trust store are
	// checked for changes (default "2s").
	ReloadInterval Duration `toml:"reload_interval"`
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
	if err := c.Baselines.check(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := c.Policy.check(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := c.Review.check(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// outcomes are the baseline outcomes a policy can name.
var outcomes = []ctxguard.BaselineStatus{ctxguard.BaselineMatch, ctxguard.BaselineDrifted, ctxguard.BaselineUnsigned,
	ctxguard.BaselineExpired, ctxguard.BaselineRejected, ctxguard.BaselinePinned, ctxguard.BaselinePinMatch}

func (b *Baselines) check() error {
	if b.Required != "" {
		if _, ok := ctxguard.ParseDecision(b.Required); !ok {
			return fmt.Errorf("baselines.required: %q is not a decision (pass, annotate, quarantine, block)", b.Required)
		}
	}
	for k, v := range b.On {
		if !slices.Contains(outcomes, ctxguard.BaselineStatus(k)) {
			return fmt.Errorf("baselines.on: %q is not an outcome (%s)", k, joinStatuses(outcomes))
		}
		if _, ok := ctxguard.ParseDecision(v); !ok {
			return fmt.Errorf("baselines.on.%s: %q is not a decision (pass, annotate, quarantine, block)", k, v)
		}
	}
	return nil
}

func joinStatuses(ss []ctxguard.BaselineStatus) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// Settings converts the settings for the policy package.
func (s *PolicySettings) Settings() policy.Settings {
	out := policy.Settings{Mode: policy.Mode(s.Mode), Fail: policy.Fail(s.Fail), Threshold: s.Threshold,
		Required: ctxguard.Decision(s.Required), FailToolCall: s.FailToolCall}
	if len(s.On) > 0 {
		out.On = map[policy.Outcome]ctxguard.Decision{}
		for k, v := range s.On {
			out.On[policy.Outcome(k)] = ctxguard.Decision(v)
		}
	}
	return out
}

// Build returns the policy: the built-in defaults, then the baselines'
// and detectors' settings, then the policy section and its rules.
func (c *Config) Build() *policy.Policy {
	p := &policy.Policy{}
	base := (&PolicySettings{On: c.Baselines.On, Required: c.Baselines.Required}).Settings()
	if c.Detectors.Threshold > 0 {
		th := c.Detectors.Threshold
		base.Threshold = &th
	}
	p.Rules = append(p.Rules, policy.Rule{Settings: base})
	p.Rules = append(p.Rules, policy.Rule{Settings: c.Policy.Settings()})
	for _, r := range c.Policy.Rules {
		p.Rules = append(p.Rules, policy.Rule{Server: r.Server, Method: r.Method, URIPrefix: r.URIPrefix, Settings: r.Settings()})
	}
	return p
}

func (p *Policy) check() error {
	s := p.Settings()
	if err := s.Check(); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	for i, r := range p.Rules {
		s := r.Settings()
		if err := s.Check(); err != nil {
			return fmt.Errorf("policy.rules[%d]: %w", i, err)
		}
	}
	return nil
}

func (r *Review) check() error {
	seen := map[string]bool{}
	for i, rv := range r.Reviewers {
		switch {
		case rv.Name == "" || strings.ContainsAny(rv.Name, "\x00\r\n"):
			return fmt.Errorf("review.reviewers[%d]: a name is required", i)
		case len(rv.Token) < 16:
			return fmt.Errorf("review.reviewers[%d] (%s): the token must have at least 16 characters", i, rv.Name)
		case seen[rv.Token]:
			return fmt.Errorf("review.reviewers[%d] (%s): two reviewers share a token", i, rv.Name)
		}
		seen[rv.Token] = true
	}
	return nil
}
