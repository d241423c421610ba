package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
	"github.com/ctxguard/ctxguard/detectors/llm"
)

// detectorFlags are the flags every command that scans takes.
type detectorFlags struct {
	Threshold  float64  `name:"threshold" placeholder:"SCORE" help:"Score (0..1) at which content is suspicious (default 0.5)."`
	AllowHosts []string `name:"allow-host" placeholder:"HOST" help:"Trust links and images to HOST (and its subdomains); repeatable."`
	Rules      []string `name:"rules" type:"existingfile" placeholder:"FILE" help:"Rule file of your own (TOML, as detectors/phrases/rules); repeatable."`
}

// engine builds the detector engine from the flags and the config file.
func (f *detectorFlags) engine(g *Globals) (*detectors.Engine, error) {
	c := g.cfg.Detectors
	cfg := detectors.Config{Threshold: c.Threshold, MaxDepth: c.MaxDecodeDepth}
	if f.Threshold > 0 {
		cfg.Threshold = f.Threshold
	}
	if cfg.Threshold < 0 || cfg.Threshold > 1 {
		return nil, fmt.Errorf("threshold must be between 0 and 1, not %v", cfg.Threshold)
	}
	opts := defaults.Options{AllowHosts: append(append([]string{}, c.AllowHosts...), f.AllowHosts...), Rules: map[string]*detectors.RuleSet{}}
	for _, p := range append(append([]string{}, c.Rules...), f.Rules...) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		rs, err := detectors.ParseRules(p, b)
		if err != nil {
			return nil, err
		}
		if prev := opts.Rules[rs.Detector]; prev != nil {
			rs = prev.Merge(rs)
		}
		opts.Rules[rs.Detector] = rs
	}
	return defaults.Engine(cfg, opts)
}

// llmFlags are the flags of the optional LLM classifier (scan, eval). They
// win over the [llm] table of the config file.
type llmFlags struct {
	LLMURL    string `name:"llm-url" placeholder:"URL" help:"Ask an LLM behind this OpenAI-compatible base URL (ending in /v1) about documents the detectors are unsure of (the grey band of [llm] in the config)."`
	LLMModel  string `name:"llm-model" placeholder:"NAME" help:"Model the LLM endpoint serves."`
	LLMKeyEnv string `name:"llm-key-env" placeholder:"VAR" help:"Environment variable holding the LLM endpoint's API key (default CTXGUARD_LLM_API_KEY; may be unset for local servers)."`
	LLMAlways bool   `name:"llm-always" help:"Ask the LLM about every document, not only the grey band."`
}

// settings returns the [llm] table with the flags applied.
func (f *llmFlags) settings(g *Globals) config.LLM {
	l := g.cfg.LLM
	if f == nil {
		return l
	}
	if f.LLMURL != "" {
		l.URL = f.LLMURL
	}
	if f.LLMModel != "" {
		l.Model = f.LLMModel
	}
	if f.LLMKeyEnv != "" {
		l.KeyEnv = f.LLMKeyEnv
	}
	l.Always = l.Always || f.LLMAlways
	return l
}

// cascade builds the LLM cascade from the config and the flags.
func (f *llmFlags) cascade(g *Globals, threshold float64) (*llm.Cascade, error) {
	return newCascade(g, f, threshold)
}

// newCascade builds the LLM cascade from the config and the flags (f may
// be nil: the config alone); nil when no LLM is configured. threshold is
// the detectors' threshold, for the combined verdict.
func newCascade(g *Globals, f *llmFlags, threshold float64) (*llm.Cascade, error) {
	l := f.settings(g)
	switch {
	case l.URL == "" && l.Model == "":
		if f != nil && f.LLMAlways {
			return nil, errors.New("--llm-always needs --llm-url and --llm-model (or [llm] in the config)")
		}
		return nil, nil
	case l.URL == "":
		return nil, errors.New("--llm-model needs --llm-url (or llm.url in the config)")
	case l.Model == "":
		return nil, errors.New("--llm-url needs --llm-model (or llm.model in the config)")
	}
	cfg := llm.Config{URL: l.URL, Model: l.Model, KeyEnv: l.KeyEnv, RequireKey: l.KeyEnv != "",
		Timeout: l.Timeout.Duration, Concurrency: l.Concurrency, ChunkTokens: l.ChunkTokens, MaxChunks: l.MaxChunks,
		ReplyTokens: l.MaxTokens, CacheSize: l.CacheSize}
	if l.Retries != nil {
		cfg.Retries = *l.Retries
		if cfg.Retries == 0 {
			cfg.Retries = -1 // the config's 0 means never
		}
	}
	if l.JSONSchema != nil && !*l.JSONSchema {
		cfg.NoSchema = true
	}
	c, err := llm.New(cfg)
	if err != nil {
		return nil, err
	}
	cas := &llm.Cascade{Classifier: c, Always: l.Always, AlwaysPrefixes: l.AlwaysPrefixes, Fail: llm.Fail(l.Fail), Threshold: threshold}
	if len(l.GreyBand) == 2 {
		cas.Low, cas.High = l.GreyBand[0], l.GreyBand[1]
	}
	return cas, nil
}

// threshold is the detectors' threshold from the flags and the config.
func (f *detectorFlags) threshold(g *Globals) float64 {
	switch {
	case f.Threshold > 0:
		return f.Threshold
	case g.cfg.Detectors.Threshold > 0:
		return g.cfg.Detectors.Threshold
	}
	return 0.5
}
