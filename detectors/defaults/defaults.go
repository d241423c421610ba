// Package defaults is the list of detectors ctxguard runs, in one place, as
// CoreDNS keeps its plugin order in plugin.cfg.
package defaults

import (
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/exfil"
	"github.com/ctxguard/ctxguard/detectors/hidden"
	"github.com/ctxguard/ctxguard/detectors/phrases"
	"github.com/ctxguard/ctxguard/detectors/toolcall"
)

// Options configure the default detectors.
type Options struct {
	// AllowHosts are hosts the exfiltration detector trusts.
	AllowHosts []string
	// Rules are user rule sets by family, merged into the built-in ones.
	Rules map[string]*detectors.RuleSet
}

// Detectors returns the default detectors: the phrase families, then the
// structural ones. Encoded payloads are decoded by the engine itself.
func Detectors(opts Options) ([]detectors.Detector, error) {
	ds, err := phrases.Detectors(opts.Rules)
	if err != nil {
		return nil, err
	}
	return append(ds,
		toolcall.Detector{},
		&exfil.Detector{Allow: opts.AllowHosts},
		hidden.Detector{},
	), nil
}

// Engine returns an engine of the default detectors.
func Engine(cfg detectors.Config, opts Options) (*detectors.Engine, error) {
	ds, err := Detectors(opts)
	if err != nil {
		return nil, err
	}
	return detectors.NewEngine(cfg, ds...)
}
