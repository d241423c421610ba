package main

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctxguard/ctxguard/anomaly"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/metrics"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// filterFlags are the flags of every command that runs the filter (wrap,
// proxy): what it checks, scores and decides.
type filterFlags struct {
	detectorFlags
	baselineFlags
	policyFlags
	NoDetectors bool `name:"no-detectors" help:"Record provenance only: do not score content for injection."`
	NoAnomaly   bool `name:"no-anomaly" help:"Do not run anomaly detection ([anomaly] in the config) on the observations."`
}

// newFilter builds the filter's chain from the flags and the config: the
// baseline stage, the detectors (with the LLM behind them when [llm] says
// so), and the decide stage over the store's queue. With a registry, the
// filter's, the queue's and the LLM's metrics are registered in it.
func (c *filterFlags) newFilter(ctx context.Context, g *Globals, dir string, db *bolt.DB, log *slog.Logger, reg prometheus.Registerer) (*filter.Filter, error) {
	var inspectors []filter.Stage
	bst, err := c.baselineStage(ctx, g, dir, db, log)
	if err != nil {
		return nil, err
	}
	if bst != nil {
		inspectors = append(inspectors, bst)
	}
	if !c.NoDetectors {
		engine, err := c.engine(g)
		if err != nil {
			return nil, err
		}
		// The [llm] table of the config puts the LLM classifier behind
		// the detectors (nil when there is none).
		cas, err := newCascade(g, nil, c.threshold(g))
		if err != nil {
			return nil, err
		}
		inspectors = append(inspectors, &filter.ScanStage{Engine: engine, LLM: cas, Logger: log})
		if reg != nil && cas != nil {
			metrics.RegisterLLM(reg, cas)
		}
	}
	pol := c.policy(g, c.Threshold)
	decide := &filter.DecideStage{Policy: pol, Queue: db, Logger: log}
	inspectors = append(inspectors, decide)
	// Anomaly detection ([anomaly]) runs after the decision, so that what
	// the policy holds anyway is not queued twice; its state is restored
	// from the store now and synced with it in the background.
	if ac := &g.cfg.Anomaly; ac.On() && !c.NoAnomaly {
		rules, err := ac.Rules()
		if err != nil {
			return nil, err
		}
		ast := &filter.AnomalyStage{Detector: anomaly.New(rules, nil), Records: db, Decide: decide, Logger: log}
		if ac.Webhook.URL != "" {
			if ast.Webhook, err = anomaly.NewWebhook(ctx, ac.Webhook.URL, ac.Webhook.Timeout.Duration, ac.Webhook.Queue, log); err != nil {
				return nil, err
			}
			// The events still queued when the filter stops are
			// delivered first, within one delivery's timeout.
			hook, wait := ast.Webhook, cmp.Or(ac.Webhook.Timeout.Duration, anomaly.DefaultWebhookTimeout)
			db.BeforeClose(func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
				defer cancel()
				if err := hook.Close(ctx); err != nil {
					_, _, dropped := hook.Stats()
					log.Warn("anomaly: webhook events undelivered at exit", "err", err, "dropped_before", dropped)
				}
			})
		}
		if err := ast.Start(ctx, db, ac.SyncInterval.Duration); err != nil {
			return nil, err
		}
		inspectors = append(inspectors, ast)
	}
	opts := filter.Options{Records: db, Logger: log, Inspectors: inspectors, Policy: pol}
	if reg != nil {
		opts.Observe = metrics.NewFilter(reg).Observe
		metrics.RegisterQueue(reg, db)
	}
	return filter.New(opts)
}

// openFilterStore opens the data directory's store with the durability the
// flag (else the config) asks for.
func openFilterStore(g *Globals, dir, flag string) (*bolt.DB, error) {
	durability, err := store.ParseDurability(firstNonEmpty(flag, g.cfg.Store.Durability))
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(dir, bolt.Options{Durability: durability})
	if err != nil {
		return nil, err
	}
	startAuditLog(g, dir, db, g.logger(true))
	return db, nil
}

// baselineFlags are the filter's flags for signed baselines and pins.
type baselineFlags struct {
	Manifests        []string `name:"manifests" sep:"none" placeholder:"PATH" help:"Signed manifest, or directory of them (every file with a .sig beside it); repeatable. Reloaded when changed."`
	RequireSignature []string `name:"require-signature" sep:"none" placeholder:"PREFIX" help:"URI prefix whose documents must match a signed baseline; anything else there is held for review. Repeatable."`
	NoPinTools       bool     `name:"no-pin-tools" help:"Do not pin tool definitions (a changed tool description is then not reported as a drift)."`
}

// baselineStage builds the baseline stage from the flags and the
// configuration, and starts watching the manifests. It returns nil when
// there is nothing to check: no manifests, no required prefixes and no
// pinning.
func (f *baselineFlags) baselineStage(ctx context.Context, g *Globals, dir string, bs store.Baselines, log *slog.Logger) (*filter.BaselineStage, error) {
	cfg := g.cfg.Baselines
	paths := append(append([]string(nil), cfg.Manifests...), f.Manifests...)
	required := append(append([]string(nil), cfg.RequireSignature...), f.RequireSignature...)
	for _, p := range required {
		if err := baseline.CheckScope(p); err != nil {
			return nil, err
		}
	}
	pin := !f.NoPinTools && (cfg.PinTools == nil || *cfg.PinTools)
	st := &filter.BaselineStage{RequireSignature: required, Logger: log}
	if pin {
		st.Pins = bs
	}
	if len(paths) > 0 {
		w := &baseline.Watcher{Paths: paths, TrustDir: dir, Store: bs, Interval: cfg.ReloadInterval.Duration, Logger: log}
		if err := w.Start(ctx); err != nil {
			return nil, err
		}
		st.Baselines = w.Set
	}
	if len(paths) == 0 && len(required) == 0 && !pin {
		return nil, nil
	}
	return st, nil
}

// policyFlags are the filter's policy flags; the configuration's [policy]
// section says the rest.
type policyFlags struct {
	Monitor bool `name:"monitor" help:"Monitor mode: record and queue what the policy would hold, but forward the content (for rolling the guard out)."`
}

// policy returns the configured policy with the command line's settings on
// top.
func (f *policyFlags) policy(g *Globals, threshold float64) *policy.Policy {
	p := g.cfg.Build()
	var top policy.Settings
	if threshold > 0 {
		top.Threshold = &threshold
	}
	if f.Monitor {
		top.Mode = policy.Monitor
	}
	p.Rules = append(p.Rules, policy.Rule{Settings: top})
	return p
}
