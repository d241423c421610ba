package main

import (
	"fmt"
	"os"

	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
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
