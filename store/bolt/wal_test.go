package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// crashImage copies the data directory's files as they are while the
// store is open: what the disk holds when the process is killed (the
// operating system keeps what was written; nothing was closed).
func crashImage(t *testing.T, dir string) string {
	t.Helper()
	img := t.TempDir()
	for _, name := range []string{bolt.FileName, bolt.FileName + bolt.WALSuffix} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(img, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func appendRecords(t *testing.T, db *bolt.DB, n int, tag string) []*ctxguard.Record {
	t.Helper()
	var recs []*ctxguard.Record
	for i := range n {
		r := &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb"}, Kind: ctxguard.KindText, SHA256: fmt.Sprintf("%s-%d", tag, i)}
		if err := db.AppendRecords(context.Background(), []*ctxguard.Record{r}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

// readAll opens dir and returns its records, checking that seqs rise.
func readAll(t *testing.T, dir string) []*ctxguard.Record {
	t.Helper()
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []*ctxguard.Record
	err = db.ScanRecords(context.Background(), store.RecordQuery{}, func(r *ctxguard.Record) error {
		if len(out) > 0 && r.Seq <= out[len(out)-1].Seq {
			t.Fatalf("seq %d after %d", r.Seq, out[len(out)-1].Seq)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameRecords(t *testing.T, got, want []*ctxguard.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || got[i].SHA256 != want[i].SHA256 {
			t.Fatalf("record %d = seq %d %q, want seq %d %q", i, got[i].Seq, got[i].SHA256, want[i].Seq, want[i].SHA256)
		}
	}
}

// Every acknowledged append survives a crash, whether it was still only in
// the write-ahead log or already checkpointed into bbolt, and whatever the
// log holds from before its last checkpoint.
func TestCrashRecovery(t *testing.T) {
	for _, cp := range []int64{1, 4 << 10, 1 << 40} {
		for _, d := range []store.Durability{store.Strict, store.Relaxed} {
			t.Run(fmt.Sprintf("%s/checkpoint at %d bytes", d, cp), func(t *testing.T) {
				dir := t.TempDir()
				db, err := bolt.Open(dir, bolt.Options{Durability: d, CheckpointBytes: cp, Linger: 1 << 40})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				want := appendRecords(t, db, 100, "a")
				img := crashImage(t, dir)
				sameRecords(t, readAll(t, img), want)

				// The recovered store takes new records after the old ones,
				// and they survive the next crash too.
				db2, err := bolt.Open(img, bolt.Options{Durability: d, CheckpointBytes: cp, Linger: 1 << 40})
				if err != nil {
					t.Fatal(err)
				}
				defer db2.Close()
				want = append(want, appendRecords(t, db2, 30, "b")...)
				sameRecords(t, readAll(t, crashImage(t, img)), want)
			})
		}
	}
}

// A crash in the middle of a write leaves part of a frame at the log's
// end: recovery keeps every whole frame before it, and new appends go
// after them.
func TestTornLogTail(t *testing.T) {
	for name, tail := range map[string][]byte{
		"half a header":           {0x10, 0, 0},
		"header without its body": {0x40, 0, 0, 0, 1, 2, 3, 4, 0xff, 0, 0, 0, 0, 0, 0, 0},
		"bad checksum":            append([]byte{2, 0, 0, 0, 9, 9, 9, 9, 0xff, 0, 0, 0, 0, 0, 0, 0}, "{}"...),
		"absurd length":           {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := bolt.Open(dir, bolt.Options{CheckpointBytes: 1 << 40, Linger: 1 << 40})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			want := appendRecords(t, db, 20, "a")
			img := crashImage(t, dir)
			log := filepath.Join(img, bolt.FileName+bolt.WALSuffix)
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			// The frames end where the zeros written ahead begin.
			end := len(b)
			for end > 0 && b[end-1] == 0 {
				end--
			}
			copy(b[end:], tail) // the last frame ends with the '}' of its JSON
			if err := os.WriteFile(log, b, 0o600); err != nil {
				t.Fatal(err)
			}
			sameRecords(t, readAll(t, img), want)
		})
	}
}

// Reads see records still in the log, in order with those in bbolt, and
// tail's Last counts across both.
func TestReadsMergeLogAndDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(dir, bolt.Options{CheckpointBytes: 1 << 40, Linger: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	first := appendRecords(t, db, 5, "a")
	db.Close() // checkpoints: these are in bbolt
	db, err = bolt.Open(dir, bolt.Options{CheckpointBytes: 1 << 40, Linger: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	second := appendRecords(t, db, 3, "b") // these stay in the log
	all := append(first, second...)
	for last, want := range map[int][]*ctxguard.Record{2: all[6:], 3: all[5:], 4: all[4:], 8: all, 20: all} {
		var got []*ctxguard.Record
		if err := db.ScanRecords(context.Background(), store.RecordQuery{Last: last}, func(r *ctxguard.Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, got, want)
	}
}
