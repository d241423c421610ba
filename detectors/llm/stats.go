package llm

import "sync/atomic"

// Stats counts what a classifier did, for the metrics and for ctxguard
// eval. The counters only grow; read them with Classifier.Stats. A
// /metrics endpoint exports them as ctxguard_llm_calls_total,
// ctxguard_llm_retries_total, ctxguard_llm_errors_total,
// ctxguard_llm_judged_total, ctxguard_llm_cache_hits_total and
// ctxguard_llm_tokens_total{kind="prompt"|"completion"}.
type Stats struct {
	calls, retries, errors, judged, cacheHits, promptTokens, completionTokens atomic.Int64
}

// Counters is a snapshot of Stats.
type Counters struct {
	// Calls are the HTTP requests sent to the endpoint, retries included.
	Calls int64 `json:"calls"`
	// Retries are the requests sent again after a 429, a 5xx or no answer.
	Retries int64 `json:"retries"`
	// Errors are the documents the classifier could not judge.
	Errors int64 `json:"errors"`
	// Judged are the documents judged, from the cache or not.
	Judged int64 `json:"judged"`
	// CacheHits are the judgements that came from the cache.
	CacheHits int64 `json:"cache_hits"`
	// PromptTokens and CompletionTokens are the tokens the endpoint
	// reported using (an endpoint that reports no usage counts none).
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// Tokens is the sum of prompt and completion tokens.
func (c Counters) Tokens() int64 { return c.PromptTokens + c.CompletionTokens }

func (s *Stats) snapshot() Counters {
	return Counters{Calls: s.calls.Load(), Retries: s.retries.Load(), Errors: s.errors.Load(), Judged: s.judged.Load(),
		CacheHits: s.cacheHits.Load(), PromptTokens: s.promptTokens.Load(), CompletionTokens: s.completionTokens.Load()}
}
