package anomaly

import "container/list"

// lru maps keys to values and holds at most max of them: putting one more
// forgets the key used least recently, never one in use since.
type lru[V any] struct {
	max int
	m   map[string]*list.Element
	l   list.List // of *lruEntry[V], most recently used first
}

type lruEntry[V any] struct {
	key string
	v   V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, m: map[string]*list.Element{}}
}

// get returns the value of key and marks it used.
func (c *lru[V]) get(key string) (v V, ok bool) {
	e := c.m[key]
	if e == nil {
		return v, false
	}
	c.l.MoveToFront(e)
	return e.Value.(*lruEntry[V]).v, true
}

// has reports whether key is held, without marking it used.
func (c *lru[V]) has(key string) bool {
	_, ok := c.m[key]
	return ok
}

// put sets the value of key and marks it used, forgetting the least
// recently used key when there are too many.
func (c *lru[V]) put(key string, v V) {
	if e := c.m[key]; e != nil {
		e.Value.(*lruEntry[V]).v = v
		c.l.MoveToFront(e)
		return
	}
	c.m[key] = c.l.PushFront(&lruEntry[V]{key, v})
	for len(c.m) > c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int { return len(c.m) }
