// Package metrics exposes what the filter does as Prometheus metrics:
// exchanges and items by verdict and decision, the latency of the filter's
// own work, the quarantine's depth, and the LLM classifier's calls and
// tokens. Collectors register into a registry the caller owns.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors/llm"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/store"
)

// Filter counts what the filter sees; its Observe goes in
// filter.Options.Observe.
type Filter struct {
	exchanges prometheus.Counter
	items     *prometheus.CounterVec
	failed    prometheus.Counter
	seconds   prometheus.Histogram
}

// NewFilter registers the filter's metrics.
func NewFilter(reg prometheus.Registerer) *Filter {
	m := &Filter{
		exchanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "ctxguard_exchanges_total",
			Help: "Frames from servers run through the filter."}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctxguard_items_total",
			Help: "Content items observed, by kind, verdict (clean, suspicious, or none when not scanned) and decision."},
			[]string{"kind", "verdict", "decision"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ctxguard_messages_failed_total",
			Help: "Messages a stage failed on or the policy blocked (answered with an error)."}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ctxguard_filter_seconds",
			Help:    "Time the filter's own chain took per frame (detectors, store writes and the LLM included; the server's time not).",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 16)}),
	}
	reg.MustRegister(m.exchanges, m.items, m.failed, m.seconds)
	return m
}

// Observe implements filter.Options.Observe.
func (m *Filter) Observe(ex *filter.Exchange, took time.Duration) {
	m.exchanges.Inc()
	m.seconds.Observe(took.Seconds())
	for _, u := range ex.Units {
		if u.Err != nil {
			m.failed.Inc()
		}
		for _, in := range u.Items {
			r := &in.Record
			verdict := string(r.Verdict)
			if verdict == "" {
				verdict = "none"
			}
			m.items.WithLabelValues(string(r.Kind), verdict, string(r.Decision)).Inc()
		}
	}
}

// RegisterQueue exposes the quarantine's depth by status, read from the
// store at each scrape.
func RegisterQueue(reg prometheus.Registerer, q store.Quarantine) {
	for _, st := range []ctxguard.QuarantineStatus{ctxguard.StatusPending, ctxguard.StatusReleased, ctxguard.StatusRejected} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ctxguard_quarantine_items",
			Help: "Items in the quarantine queue, by status.", ConstLabels: prometheus.Labels{"status": string(st)}},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, err := q.Count(ctx, st)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
	}
}

// RegisterLLM exposes the LLM classifier's and the cascade's counters.
func RegisterLLM(reg prometheus.Registerer, c *llm.Cascade) {
	counter := func(name, help string, v func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) }))
	}
	cs := func() llm.Counters { return c.Classifier.Stats() }
	counter("ctxguard_llm_calls_total", "Requests sent to the LLM endpoint, retries included.", func() int64 { return cs().Calls })
	counter("ctxguard_llm_retries_total", "Requests sent again after a 429, a 5xx or no answer.", func() int64 { return cs().Retries })
	counter("ctxguard_llm_errors_total", "Documents the LLM could not judge.", func() int64 { return cs().Errors })
	counter("ctxguard_llm_judged_total", "Documents the LLM judged (from its cache or not).", func() int64 { return cs().Judged })
	counter("ctxguard_llm_cache_hits_total", "Judgements answered from the cache.", func() int64 { return cs().CacheHits })
	counter("ctxguard_llm_prompt_tokens_total", "Prompt tokens the endpoint reported.", func() int64 { return cs().PromptTokens })
	counter("ctxguard_llm_completion_tokens_total", "Completion tokens the endpoint reported.", func() int64 { return cs().CompletionTokens })
	counter("ctxguard_llm_asked_total", "Items the cascade sent to the LLM (grey band or always).", func() int64 { return c.Stats().Asked })
	counter("ctxguard_llm_changed_total", "Items whose verdict the LLM changed.", func() int64 { return c.Stats().Changed })
}
