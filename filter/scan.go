package filter

import (
	"container/list"
	"context"
	"log/slog"
	"sync"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/provenance"
)

// ScanStage scores every text item with the detectors and keeps the verdict,
// score and findings in the item's record. Identical content is scanned
// once: results are cached by content hash (xxhash64 as the key, SHA-256 to
// confirm), together with the tool names they were scanned against.
type ScanStage struct {
	Engine *detectors.Engine
	Logger *slog.Logger
	cache  *resultCache
	once   sync.Once
}

// DefaultScanCache is how many distinct contents the scan stage remembers.
const DefaultScanCache = 4096

// Name implements Stage.
func (s *ScanStage) Name() string { return "scan" }

// Run implements Stage.
func (s *ScanStage) Run(_ context.Context, ex *Exchange) error {
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
			if res.Verdict == ctxguard.VerdictSuspicious && s.Logger != nil {
				s.Logger.Warn("suspicious content", "server", in.Record.Server, "method", in.Record.Method, "uri", in.Record.URI,
					"tool", in.Record.Tool, "score", res.Score, "findings", len(res.Findings), "sha256", in.Record.SHA256)
			}
		}
	}
	return nil
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
