package bolt_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
	"github.com/ctxguard/ctxguard/store/storetest"
)

// The suite runs with the default checkpoint size, with a checkpoint after
// every append, and with none until the store closes (every read then
// merges bbolt and the write-ahead log).
func TestRecordsConformance(t *testing.T) {
	for _, d := range []store.Durability{store.Strict, store.Relaxed} {
		for _, cp := range []struct {
			name  string
			bytes int64
		}{{"default checkpoints", 0}, {"checkpoint every append", 1}, {"no checkpoint", 1 << 40}} {
			t.Run(d.String()+"/"+cp.name, func(t *testing.T) {
				storetest.TestRecords(t, func(t *testing.T) store.Records {
					db, err := bolt.Open(t.TempDir(), bolt.Options{Durability: d, CheckpointBytes: cp.bytes})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					return db
				})
			})
		}
	}
}

func TestQuarantineConformance(t *testing.T) {
	storetest.TestQuarantine(t, func(t *testing.T) store.Quarantine {
		db, err := bolt.Open(t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestBaselinesConformance(t *testing.T) {
	storetest.TestBaselines(t, func(t *testing.T) store.Baselines {
		db, err := bolt.Open(t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// Two handles on one directory stand for two processes (two wrap processes
// of one MCP client): both write, and each sees the other's records.
func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for i := range 20 {
		db := a
		if i%2 == 1 {
			db = b
		}
		if err := db.AppendRecords(ctx, []*ctxguard.Record{{Origin: ctxguard.Origin{Server: "s"}, SHA256: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := a.ScanRecords(ctx, store.RecordQuery{}, func(*ctxguard.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("a sees %d records, want 20", n)
	}
}

func TestReopenKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &ctxguard.Record{SHA256: "abc"}
	if err := db.AppendRecords(context.Background(), []*ctxguard.Record{r}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []*ctxguard.Record
	db.ScanRecords(context.Background(), store.RecordQuery{}, func(r *ctxguard.Record) error { got = append(got, r); return nil })
	if len(got) != 1 || got[0].SHA256 != "abc" || got[0].Seq != r.Seq {
		t.Fatalf("after reopen: %+v", got)
	}
}

func TestCorruptFileIsAClearError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := bolt.Open(dir, bolt.Options{})
	if err == nil || !strings.Contains(err.Error(), "store: open") {
		t.Fatalf("Open of a corrupt file: err = %v, want a store: open error", err)
	}
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	db, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.AppendRecords(context.Background(), []*ctxguard.Record{{}}); err != store.ErrClosed {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
}

func TestLogConformance(t *testing.T) {
	storetest.TestLog(t, func(t *testing.T) storetest.LogStore {
		db, err := bolt.Open(t.TempDir(), bolt.Options{CheckpointBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
