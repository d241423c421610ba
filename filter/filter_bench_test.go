package filter_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/internal/gctune"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// BenchmarkProcess measures the filter's own work on one resources/read
// response (correlate, extract, hash, record with relaxed durability),
// detectors excluded.
func BenchmarkProcess(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			benchmarkRead(b, strings.Repeat("Invoices are paid on net-30 terms — Übersicht \"quoted\".\n", size/40+1)[:size])
		})
	}
}

// readBench is a filter on a relaxed store, a session, and one
// resources/read exchange of a text document.
type readBench struct {
	f         *filter.Filter
	s         *filter.Session
	req, resp []byte
}

func newReadBench(b *testing.B, text string, inspectors ...filter.Stage) readBench {
	db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: store.Relaxed})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	f, err := filter.New(filter.Options{Records: db, Inspectors: inspectors})
	if err != nil {
		b.Fatal(err)
	}
	return readBench{
		f:    f,
		s:    filter.NewSession("bench", "stdio", "s"),
		req:  []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/doc.md"}}`),
		resp: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///kb/doc.md","mimeType":"text/markdown","text":%q}]}}`, text)),
	}
}

// benchmarkRead runs one resources/read response of text through a filter
// with the given inspectors.
func benchmarkRead(b *testing.B, text string, inspectors ...filter.Stage) {
	rb := newReadBench(b, text, inspectors...)
	ctx := context.Background()
	b.SetBytes(int64(len(rb.resp)))
	b.ReportAllocs()
	for b.Loop() {
		rb.s.FromClient(rb.req)
		out, _ := rb.f.Process(ctx, rb.f.Correlate(rb.s, rb.resp))
		if len(out) != len(rb.resp) {
			b.Fatal("response changed")
		}
	}
}

// BenchmarkProcessLatency reports the distribution of the filter's own work
// per resources/read response (the work of BenchmarkProcess: relaxed store,
// detectors excluded), collections included: p50 and p99 of the time from
// the response's bytes in hand to the bytes to forward. It runs under Go's
// default collector settings and under those wrap sets (gctune), side by
// side: most of the tail is collections.
func BenchmarkProcessLatency(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, gc := range []string{"go-default", "wrap-tuned"} {
			b.Run(fmt.Sprintf("%dKB/%s", size>>10, gc), func(b *testing.B) {
				if gc == "wrap-tuned" {
					defer gctune.Tune(64<<20, 32<<20)()
				} else {
					defer debug.SetGCPercent(debug.SetGCPercent(100))
				}
				benchmarkLatency(b, size)
			})
		}
	}
}

func benchmarkLatency(b *testing.B, size int) {
	rb := newReadBench(b, strings.Repeat("Invoices are paid on net-30 terms — Übersicht \"quoted\".\n", size/40+1)[:size])
	ctx := context.Background()
	var took []time.Duration
	for b.Loop() {
		rb.s.FromClient(rb.req)
		// The relay reads each response into a slice of its own.
		frame := append([]byte(nil), rb.resp...)
		start := time.Now()
		out, _ := rb.f.Process(ctx, rb.f.Correlate(rb.s, frame))
		took = append(took, time.Since(start))
		if len(out) != len(rb.resp) {
			b.Fatal("response changed")
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
