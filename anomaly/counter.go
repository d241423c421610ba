package anomaly

import "time"

// buckets is the resolution of a sliding window: a count covers the
// window to within one bucket (a twelfth of it).
const buckets = 12

// counter counts events in a sliding window, in fixed buckets, so that it
// stays small whatever the rate and can be stored as it is. Width is the
// bucket width it was made for: a counter read with another window (the
// configuration changed) starts again from zero.
type counter struct {
	Width int64           `json:"w,omitempty"` // nanoseconds
	Head  int64           `json:"h,omitempty"` // index of the newest bucket (time / Width)
	B     [buckets]uint32 `json:"b"`
}

func width(window time.Duration) int64 { return max(int64(window)/buckets, 1) }

func pos(i int64) int { return int(((i % buckets) + buckets) % buckets) }

// add counts n events at t. Events older than the window are dropped.
func (c *counter) add(t time.Time, window time.Duration, n uint32) {
	w := width(window)
	if c.Width != w {
		*c = counter{Width: w}
	}
	i := t.UnixNano() / w
	switch {
	case i > c.Head:
		if i-c.Head >= buckets || c.Head == 0 {
			c.B = [buckets]uint32{}
		} else {
			for j := c.Head + 1; j <= i; j++ {
				c.B[pos(j)] = 0
			}
		}
		c.Head = i
	case c.Head-i >= buckets:
		return // older than the window: replayed late
	}
	c.B[pos(i)] += n
}

// sum returns the events in the window that ends at t.
func (c *counter) sum(t time.Time, window time.Duration) uint32 {
	w := width(window)
	if c.Width != w {
		return 0
	}
	now := t.UnixNano() / w
	var n uint32
	for k := range int64(buckets) {
		j := c.Head - k
		if j <= now && j > now-buckets {
			n += c.B[pos(j)]
		}
	}
	return n
}
