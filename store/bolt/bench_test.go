package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// BenchmarkAppend measures one record appended and committed by one
// writer, next to the disk's own fdatasync of one page in the same
// directory: the floor a strict commit stands on.
func BenchmarkAppend(b *testing.B) {
	rec := func() *ctxguard.Record {
		return &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "s", Message: "response", Method: "resources/read", URI: "file:///kb/doc.md"},
			Path: "/result/contents/0/text", Kind: ctxguard.KindText, Size: 65536, SHA256: fmt.Sprintf("%064x", 1), XXHash64: fmt.Sprintf("%016x", 1)}
	}
	b.Run("fdatasync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "probe"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		i := 0
		for b.Loop() {
			f.WriteAt(page, int64(i%16)*4096)
			i++
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, d := range []store.Durability{store.Strict, store.Relaxed} {
		b.Run(d.String(), func(b *testing.B) {
			db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: d})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			for b.Loop() {
				if err := db.AppendRecords(ctx, []*ctxguard.Record{rec()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendConcurrent has 16 writers appending one record each at a
// time: group commit lets them share transactions and fsyncs, so the time
// per record falls well below one commit's.
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, d := range []store.Durability{store.Strict, store.Relaxed} {
		b.Run(d.String(), func(b *testing.B) {
			db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: d})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb"}, Kind: ctxguard.KindText, SHA256: "x"}
					if err := db.AppendRecords(ctx, []*ctxguard.Record{r}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
