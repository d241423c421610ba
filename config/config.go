// Package config reads ctxguard's TOML configuration file. The field
// comments here are the user documentation of each setting; example.toml
// shows them all.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
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
	LLM       LLM       `toml:"llm"`
	Proxy     Proxy     `toml:"proxy"`
	Audit     Audit     `toml:"audit"`
	Anomaly   Anomaly   `toml:"anomaly"`
}

// Proxy configures ctxguard proxy; its flags win over these.
type Proxy struct {
	// Listen is the address to serve on.
	Listen string `toml:"listen"`
	// Upstreams are "URL" or "NAME=URL", as --upstream takes them.
	Upstreams []string `toml:"upstreams"`
	// Hosts and Origins widen the names the proxy answers to (see --host
	// and --origin).
	Hosts   []string `toml:"hosts"`
	Origins []string `toml:"origins"`
	// MaxBody bounds a request body, a JSON response or an SSE event.
	MaxBody int64 `toml:"max_body"`
	// UpstreamTimeout bounds the wait for an upstream to start answering.
	UpstreamTimeout Duration `toml:"upstream_timeout"`
	// TLSCert and TLSKey serve HTTPS.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// LLM configures the optional LLM classifier, a cascade behind the
// detectors, in the filter and in ctxguard scan and eval (whose --llm-url,
// --llm-model, --llm-key-env and --llm-always win over this table). It is
// off until url and model are set.
type LLM struct {
	// URL is the OpenAI-compatible base URL, ending in /v1
	// ("https://api.openai.com/v1", "http://127.0.0.1:11434/v1" for
	// Ollama, "http://127.0.0.1:8000/v1" for vLLM).
	URL string `toml:"url"`
	// Model is the model name the endpoint serves.
	Model string `toml:"model"`
	// KeyEnv names the environment variable holding the API key (default
	// CTXGUARD_LLM_API_KEY, which may be unset for local servers; a
	// variable named here must be set). Never put the key in this file.
	KeyEnv string `toml:"key_env"`
	// Always asks the model about every document, not only the grey band.
	Always bool `toml:"always"`
	// AlwaysPrefixes are URI prefixes under which every document is asked
	// about, whatever its score (the policy's most sensitive places).
	AlwaysPrefixes []string `toml:"always_prefixes"`
	// GreyBand is [low, high]: the detectors' scores, from low and below
	// high, at which the model is asked (default [0.2, 0.6]; a high of 1
	// takes in every score from low).
	GreyBand []float64 `toml:"grey_band"`
	// Timeout bounds the judgement of one document, retries included
	// (default "10s").
	Timeout Duration `toml:"timeout"`
	// Concurrency bounds the requests in flight to the endpoint (default 4).
	Concurrency int `toml:"concurrency"`
	// ChunkTokens is the document budget of one request in estimated
	// tokens (default 3000); longer documents are cut into chunks.
	ChunkTokens int `toml:"chunk_tokens"`
	// MaxChunks bounds the chunks, and so the calls, per document (default
	// 8); the rest of a longer document is not sent.
	MaxChunks int `toml:"max_chunks"`
	// MaxTokens bounds the model's answer (max_tokens; default 512).
	MaxTokens int `toml:"max_tokens"`
	// Retries after a 429, a 5xx or a failed connection, with backoff,
	// honouring Retry-After (default 3; 0 never retries).
	Retries *int `toml:"retries"`
	// JSONSchema asks for the answer with a JSON-schema response format
	// (default true); false for endpoints that reject it (they are also
	// detected by their 400 and asked without).
	JSONSchema *bool `toml:"json_schema"`
	// CacheSize is how many judgements are kept by content hash (default
	// 4096).
	CacheSize int `toml:"cache_size"`
	// Fail is what happens when the model gives no judgement: "open"
	// (default: the detectors' verdict stands, and the record says the LLM
	// was unavailable) or "closed" (the item is held as suspicious).
	Fail string `toml:"fail"`
}

// Enabled reports whether the classifier is configured.
func (l *LLM) Enabled() bool { return l.URL != "" }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *LLM) check() error {
	if (l.URL == "") != (l.Model == "") {
		return errors.New("llm: url and model go together: set both, or neither")
	}
	if l.URL != "" {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("llm.url: not an http(s) URL (the OpenAI-compatible base URL, ending in /v1)")
		}
		if u.User != nil {
			return errors.New("llm.url: must not carry credentials; put the key in the environment variable named by key_env")
		}
	}
	if l.KeyEnv != "" && !envName.MatchString(l.KeyEnv) {
		// The value is not quoted: it may be a key put here by mistake.
		return errors.New("llm.key_env: must be the name of an environment variable (letters, digits and _), not the key itself")
	}
	if g := l.GreyBand; g != nil {
		if len(g) != 2 || g[0] < 0 || g[1] > 1 || g[0] >= g[1] {
			return fmt.Errorf("llm.grey_band: want [low, high] with 0 <= low < high <= 1, not %v", g)
		}
	}
	switch {
	case l.Timeout.Duration < 0:
		return errors.New("llm.timeout: must not be negative")
	case l.Concurrency < 0:
		return errors.New("llm.concurrency: must not be negative")
	case l.ChunkTokens != 0 && l.ChunkTokens < 64:
		return fmt.Errorf("llm.chunk_tokens: %d is too small to hold a sentence (64 at least)", l.ChunkTokens)
	case l.MaxChunks < 0 || l.MaxTokens < 0 || l.CacheSize < 0:
		return errors.New("llm: max_chunks, max_tokens and cache_size must not be negative")
	case l.Retries != nil && *l.Retries < 0:
		return errors.New("llm.retries: must not be negative")
	case l.Fail != "" && l.Fail != "open" && l.Fail != "closed":
		return fmt.Errorf("llm.fail: %q is neither open nor closed", l.Fail)
	}
	return nil
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
	if err := c.LLM.check(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := c.Audit.check(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := c.Anomaly.check(); err != nil {
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
