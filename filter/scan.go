package filter

import (
	"container/list"
	"context"
	"log/slog"
	"sync"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/llm"
	"github.com/ctxguard/ctxguard/provenance"
)

// ScanStage scores every text item with the detectors and keeps the verdict,
// score and findings in the item's record. Identical content is scanned
// once: results are cached by content hash (xxhash64 as the key, SHA-256 to
// confirm), together with the tool names they were scanned against.
//
// With an LLM cascade, items whose score is in its grey band (or under one
// of its always-prefixes) are then judged by the LLM classifier, all the
// items of an exchange at once within the classifier's concurrency limit;
// the record gets the combined score, verdict and findings, which the
// decide stage applies the policy to, and what the model said (or why it
// said nothing) in Record.LLM. Items outside the band wait for nothing.
type ScanStage struct {
	Engine *detectors.Engine
	// LLM is the optional LLM classifier behind the detectors; nil: none.
	LLM    *llm.Cascade
	Logger *slog.Logger
	cache  *resultCache
	once   sync.Once
}

// DefaultScanCache is how many distinct contents the scan stage remembers.
const DefaultScanCache = 4096

// Name implements Stage.
func (s *ScanStage) Name() string { return "scan" }

// Run implements Stage.
func (s *ScanStage) Run(ctx context.Context, ex *Exchange) error {
	s.once.Do(func() { s.cache = newResultCache(DefaultScanCache) })
	// A tools/list response teaches the session the server's tool names,
	// which the tool-coercion detector then looks for.
	for _, u := range ex.Units {
		var names []string
		for _, in := range u.Items {
			if in.Item.Kind == ctxguard.KindTool && in.Item.Name != "" {
				names = append(names, in.Item.Name)
			}
		}
		if len(names) > 0 {
			ex.Session.learnTools(names)
		}
	}
	tools, toolsVersion := ex.Session.tools()
	var ask []*Inspection
	for _, u := range ex.Units {
		for _, in := range u.Items {
			if in.Item.Binary {
				continue
			}
			res, ok := s.cache.get(in.Sums, toolsVersion)
			if !ok {
				var err error
				res, err = s.Engine.Scan(in.Item.Content, tools)
				if err != nil {
					return err
				}
				s.cache.put(in.Sums, toolsVersion, res)
			}
			in.Record.Verdict, in.Record.Score, in.Record.Findings = res.Verdict, res.Score, res.Findings
			if s.LLM != nil && s.LLM.Wants(res.Score, in.Record.URI) {
				ask = append(ask, in)
				continue
			}
			s.logSuspicious(in)
		}
	}
	if len(ask) > 0 {
		s.judge(ctx, ask)
	}
	return nil
}

// judge asks the LLM cascade about the items, concurrently (the classifier
// bounds the requests in flight), and keeps its combined judgement in each
// record.
func (s *ScanStage) judge(ctx context.Context, ask []*Inspection) {
	var wg sync.WaitGroup
	for _, in := range ask {
		wg.Go(func() {
			r := &in.Record
			res := detectors.Result{Score: r.Score, Verdict: r.Verdict, Findings: r.Findings}
			out, j := s.LLM.Judge(ctx, in.Item.Content, res, r.URI)
			r.Verdict, r.Score, r.Findings, r.LLM = out.Verdict, out.Score, out.Findings, j
			if j != nil && j.Error != "" {
				stance := "the detectors' verdict stands (fail open)"
				if s.LLM.Fail == llm.FailClosed {
					stance = "held as suspicious (fail closed)"
				}
				r.Note = joinNote(r.Note, "llm unavailable; "+stance)
				if s.Logger != nil {
					s.Logger.Warn("llm classifier unavailable: "+stance, "server", r.Server, "uri", r.URI, "tool", r.Tool,
						"sha256", r.SHA256, "err", j.Error)
				}
			}
		})
	}
	wg.Wait()
	for _, in := range ask {
		s.logSuspicious(in)
	}
}

func (s *ScanStage) logSuspicious(in *Inspection) {
	r := &in.Record
	if r.Verdict != ctxguard.VerdictSuspicious || s.Logger == nil {
		return
	}
	attrs := []any{"server", r.Server, "method", r.Method, "uri", r.URI, "tool", r.Tool, "score", r.Score, "findings", len(r.Findings), "sha256", r.SHA256}
	if r.LLM != nil {
		attrs = append(attrs, "llm", r.LLM.Label, "heuristic_score", r.LLM.HeuristicScore)
	}
	s.Logger.Warn("suspicious content", attrs...)
}

// resultCache is a small LRU of scan results by content hash.
type resultCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recent first
	byKey map[uint64]*list.Element
}

type cacheEntry struct {
	key    uint64
	sha    [32]byte
	tools  uint64
	result detectors.Result
}

func newResultCache(max int) *resultCache {
	return &resultCache{max: max, order: list.New(), byKey: map[uint64]*list.Element{}}
}

func (c *resultCache) get(s provenance.Sums, tools uint64) (detectors.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[s.XXHash64]
	if !ok {
		return detectors.Result{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.sha != s.SHA256 || e.tools != tools {
		return detectors.Result{}, false
	}
	c.order.MoveToFront(el)
	return e.result, true
}

func (c *resultCache) put(s provenance.Sums, tools uint64, r detectors.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[s.XXHash64]; ok {
		el.Value = &cacheEntry{key: s.XXHash64, sha: s.SHA256, tools: tools, result: r}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[s.XXHash64] = c.order.PushFront(&cacheEntry{key: s.XXHash64, sha: s.SHA256, tools: tools, result: r})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}
