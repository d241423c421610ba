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

// benchmarkRead runs one resources/read response of text through a filter
// with the given inspectors.
func benchmarkRead(b *testing.B, text string, inspectors ...filter.Stage) {
	db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: store.Relaxed})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f, err := filter.New(filter.Options{Records: db, Inspectors: inspectors})
	if err != nil {
		b.Fatal(err)
	}
	s := filter.NewSession("bench", "stdio", "s")
	resp := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///kb/doc.md","mimeType":"text/markdown","text":%q}]}}`, text))
	req := []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/doc.md"}}`)
	ctx := context.Background()
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		s.FromClient(req)
		ex := f.Correlate(s, resp)
		out, _ := f.Process(ctx, ex)
		if len(out) != len(resp) {
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
	text := strings.Repeat("Invoices are paid on net-30 terms — Übersicht \"quoted\".\n", size/40+1)[:size]
	db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: store.Relaxed})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f, err := filter.New(filter.Options{Records: db})
	if err != nil {
		b.Fatal(err)
	}
	s := filter.NewSession("bench", "stdio", "s")
	resp := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///kb/doc.md","mimeType":"text/markdown","text":%q}]}}`, text))
	req := []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/doc.md"}}`)
	ctx := context.Background()
	var took []time.Duration
	for b.Loop() {
		s.FromClient(req)
		// The relay reads each response into a slice of its own.
		frame := append([]byte(nil), resp...)
		start := time.Now()
		out, _ := f.Process(ctx, f.Correlate(s, frame))
		took = append(took, time.Since(start))
		if len(out) != len(resp) {
			b.Fatal("response changed")
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
