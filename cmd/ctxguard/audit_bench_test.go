package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/provenance/cef"
	"github.com/ctxguard/ctxguard/provenance/tlog"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

var auditRecords = flag.Int("audit-records", 1_000_000, "records in the log BenchmarkAuditLog verifies and exports")

// benchRecord is a record as a stdio filter stores it for a clean read.
func benchRecord(i int, at time.Time) *ctxguard.Record {
	return &ctxguard.Record{Time: at,
		Origin: ctxguard.Origin{Server: "kb-server", Transport: "stdio", Session: "3f9a1c0e5b7d2a4c6e8f0a1b", Client: ctxguard.Peer{Name: "claude-code", Version: "2.1.4"},
			ProtocolVersion: "2025-11-25", Message: "response", Method: "resources/read", RequestID: json.RawMessage(fmt.Sprint(i % 1000)),
			URI: fmt.Sprintf("file:///srv/kb/handbook/section-%d.md", i%5000)},
		Path: "/result/contents/0/text", Kind: ctxguard.KindText, MIMEType: "text/markdown", Size: 16384,
		SHA256: fmt.Sprintf("%064x", i), XXHash64: fmt.Sprintf("%016x", i), Verdict: ctxguard.VerdictClean, Score: 0.02, Decision: ctxguard.DecisionPass}
}

// BenchmarkAuditLog builds a log of -audit-records records (appended in
// batches of 64 as group commit makes them, relaxed durability), then
// measures audit verify over all of it, export in both formats, and the
// store's size. Run with -benchtime 1x: each sub-benchmark is one pass.
func BenchmarkAuditLog(b *testing.B) {
	n := *auditRecords
	dir := b.TempDir()
	ctx := context.Background()
	db, err := bolt.Open(dir, bolt.Options{Durability: store.Relaxed})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-24 * time.Hour)
	b.Run(fmt.Sprintf("append/batch64/%d", n), func(b *testing.B) {
		if b.N > 1 {
			b.Skip("one pass: run with -benchtime 1x")
		}
		b.ResetTimer()
		t0 := time.Now()
		for i := 0; i < n; i += 64 {
			recs := make([]*ctxguard.Record, 0, 64)
			for j := i; j < min(i+64, n); j++ {
				recs = append(recs, benchRecord(j, start.Add(time.Duration(j)*time.Millisecond)))
			}
			if err := db.AppendRecords(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.LogState(ctx); err != nil { // the last records join the tree
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "records/s")
	})
	key, err := tlog.LoadOrCreateKey(filepath.Join(dir, "audit.key"), "ctxguard-bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, _, _, err := tlog.SignHead(ctx, db, key, time.Now()); err != nil {
		b.Fatal(err)
	}
	db.Close()
	fi, err := os.Stat(filepath.Join(dir, bolt.FileName))
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("BenchmarkAuditLog: store of %d records: %.0f MB, %.0f MB per million records (%s)\n", n, float64(fi.Size())/1e6, float64(fi.Size())/1e6*1e6/float64(n), bucketSizes(b, dir))

	db, err = bolt.Open(dir, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.Run(fmt.Sprintf("verify/%d", n), func(b *testing.B) {
		for b.Loop() {
			rep, err := tlog.Verify(ctx, db, tlog.Options{Verifier: key.Verifier})
			if err != nil || !rep.OK() || rep.Rehashed != uint64(n) {
				b.Fatalf("verify: %v %v", err, rep.Problems)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	for _, format := range []string{"jsonl", "cef"} {
		b.Run(fmt.Sprintf("export-%s/%d", format, n), func(b *testing.B) {
			for b.Loop() {
				w := bufio.NewWriterSize(io.Discard, 64<<10)
				write := func(r *ctxguard.Record) error { return writeJSONLine(w, r) }
				if format == "cef" {
					write = cef.NewWriter(w, "bench").Write
				}
				if err := db.ScanRecords(ctx, store.RecordQuery{}, write); err != nil {
					b.Fatal(err)
				}
				w.Flush()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// bucketSizes says how much of the file the records and the tree use.
func bucketSizes(b *testing.B, dir string) string {
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	out := ""
	db.View(func(tx *bbolt.Tx) error {
		for _, name := range []string{"records", "tlog"} {
			st := tx.Bucket([]byte(name)).Stats()
			out += fmt.Sprintf("%s %.0f MB in use, ", name, float64(st.BranchInuse+st.LeafInuse)/1e6)
		}
		return nil
	})
	return out[:len(out)-2]
}
