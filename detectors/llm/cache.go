package llm

import (
	"container/list"
	"crypto/sha256"
	"sync"

	"github.com/cespare/xxhash/v2"
)

// sums are a content's cache key (xxhash64) and its confirmation
// (SHA-256): a key collision is never taken for the same content.
type sums struct {
	key uint64
	sha [32]byte
}

func sum(b []byte) sums { return sums{key: xxhash.Sum64(b), sha: sha256.Sum256(b)} }

// cache is a small LRU of judgements by content hash. Only judgements are
// kept, never errors: content the endpoint failed on is asked about again.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *entry, most recent first
	byKey map[uint64]*list.Element
}

type entry struct {
	sums
	j Judgement
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), byKey: map[uint64]*list.Element{}}
}

func (c *cache) get(s sums) (Judgement, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[s.key]
	if !ok || el.Value.(*entry).sha != s.sha {
		return Judgement{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).j, true
}

func (c *cache) put(s sums, j Judgement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[s.key]; ok {
		el.Value = &entry{s, j}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[s.key] = c.order.PushFront(&entry{s, j})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry).key)
	}
}
