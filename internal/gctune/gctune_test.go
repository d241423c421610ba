package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcPercentNow reads the GC percentage without changing it.
func gcPercentNow() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// waitForPercent runs collections until the percentage is within a tenth
// of want(live heap), and returns it.
func waitForPercent(t *testing.T, want func(live int64) int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the cleanup runs on a goroutine of its own
		got, w := gcPercentNow(), want(liveHeap())
		if got >= w*9/10 && got <= w*11/10 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d, want about %d (live heap %d bytes)", got, w, liveHeap())
		}
	}
}

// After collections the percentage puts the next one the headroom beyond
// the live heap, and follows the live heap as it grows; stop puts back the
// settings found.
func TestTune(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before, beforeLimit := gcPercentNow(), debug.SetMemoryLimit(-1)
	const headroom = 512 << 20
	stop := Tune(1<<30, headroom)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("memory limit %d, want %d", got, 1<<30)
	}
	if got := gcPercentNow(); got != Percent {
		t.Errorf("GC percent %d before the first collection, want %d (the live heap is not known yet)", got, Percent)
	}
	small := waitForPercent(t, func(l int64) int { return max(Percent, int(headroom*100/max(l, minHeap))) })

	ballast := make([]*[1 << 20]byte, 64) // 64 MB more live heap
	for i := range ballast {
		ballast[i] = new([1 << 20]byte)
	}
	large := waitForPercent(t, func(l int64) int { return max(Percent, int(headroom*100/l)) })
	if large >= small {
		t.Errorf("GC percent %d with 64 MB more live heap, %d before: want it smaller", large, small)
	}
	runtime.KeepAlive(ballast)

	stop()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	checkUnchanged(t, "after stop", before, beforeLimit)
}

// checkUnchanged asserts the GC percentage and memory limit are as found.
func checkUnchanged(t *testing.T, when string, percent int, limit int64) {
	t.Helper()
	if got := gcPercentNow(); got != percent {
		t.Errorf("GC percent %d %s, want %d as before", got, when, percent)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit %d %s, want %d as before", got, when, limit)
	}
}

// The operator's GOGC and GOMEMLIMIT win.
func TestTuneLeavesOperatorSettings(t *testing.T) {
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	before, beforeLimit := gcPercentNow(), debug.SetMemoryLimit(-1)
	stop := Tune(1<<20, 1<<30)
	defer stop()
	runtime.GC()
	checkUnchanged(t, "with GOGC and GOMEMLIMIT set", before, beforeLimit)
}

// A live heap larger than the headroom gets Percent, not less.
func TestHeadroomPercentFloor(t *testing.T) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	if got := headroomPercent(s, 1); got != Percent {
		t.Errorf("headroomPercent with 1 byte of headroom = %d, want %d", got, Percent)
	}
}
