// Package gctune sets how a filter process collects garbage.
//
// Every message the filter reads is garbage once forwarded, and its live
// heap is small (a few MB, the detectors' tables aside), so Go's default,
// a collection each time the heap doubles, collects every few dozen 64 KB
// documents; each collection takes a core from the relay while it marks,
// which is most of the tail of the latency the filter adds. Tune puts the
// next collection at least a headroom of bytes beyond the live heap (and
// never nearer than Percent), under a soft memory limit. Go has no setting
// for a headroom, so the percentage is computed from the live heap after
// every collection.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Percent is the least GC percentage Tune sets: with a live heap larger
// than the headroom, the next collection comes when it has tripled.
const Percent = 200

// minHeap bounds the live heap headroomPercent divides by, as the runtime's
// own minimum heap does.
const minHeap = 4 << 20

// Tune sets the process's soft memory limit to limit and keeps headroom
// bytes between the live heap and the next collection. The operator's own
// GOGC or GOMEMLIMIT wins over either. stop puts back the settings found
// and ends the per-collection adjustment.
func Tune(limit, headroom int64) (stop func()) {
	oldLimit := debug.SetMemoryLimit(-1) // -1 reads it
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
	if os.Getenv("GOGC") != "" {
		return func() { debug.SetMemoryLimit(oldLimit) }
	}
	var stopped atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		// 64 bytes: a tiny object can share its block with live ones,
		// and its cleanup then waits for them.
		sentinel := new([64]byte)
		runtime.AddCleanup(sentinel, func(struct{}) {
			if !stopped.Load() {
				debug.SetGCPercent(headroomPercent(sample, headroom))
				arm()
			}
		}, struct{}{})
	}
	// Until the first collection has measured the live heap, the usual
	// percentage: a headroom computed from the runtime's 4 MB minimum heap
	// would put the first collection at the memory limit.
	oldPercent := debug.SetGCPercent(Percent)
	arm()
	return func() {
		stopped.Store(true)
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
}

// headroomPercent is the GC percentage that puts the next collection
// headroom bytes beyond the live heap, at least Percent.
func headroomPercent(sample []metrics.Sample, headroom int64) int {
	metrics.Read(sample)
	live := int64(0)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(sample[0].Value.Uint64())
	}
	live = max(live, minHeap)
	return max(Percent, int(headroom*100/live))
}
