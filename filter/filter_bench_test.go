package filter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/filter"
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
