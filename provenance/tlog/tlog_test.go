package tlog_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/provenance/tlog"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

// logDir is a data directory with n records, one a minute from t0, and
// the key that signs its checkpoints.
type logDir struct {
	dir string
	key *tlog.Key
}

func newLog(t *testing.T, n int) *logDir {
	t.Helper()
	l := &logDir{dir: t.TempDir()}
	var err error
	if l.key, err = tlog.LoadOrCreateKey(filepath.Join(l.dir, "audit.key"), tlog.KeyName("test")); err != nil {
		t.Fatal(err)
	}
	l.append(t, 0, n)
	return l
}

func (l *logDir) append(t *testing.T, from, n int) {
	t.Helper()
	l.with(t, func(db *bolt.DB) {
		var recs []*ctxguard.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, &ctxguard.Record{Time: t0.Add(time.Duration(i) * time.Minute),
				Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "s", Message: "response", Method: "resources/read", URI: fmt.Sprintf("file:///kb/%d.md", i)},
				Kind:   ctxguard.KindText, Size: int64(i), SHA256: fmt.Sprintf("%064x", i)})
			if len(recs) == 100 {
				if err := db.AppendRecords(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
				recs = nil
			}
		}
		if err := db.AppendRecords(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	})
}

func (l *logDir) with(t *testing.T, fn func(db *bolt.DB)) {
	t.Helper()
	db, err := bolt.Open(l.dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fn(db)
}

func (l *logDir) sign(t *testing.T, at time.Time) []byte {
	t.Helper()
	var signed []byte
	l.with(t, func(db *bolt.DB) {
		_, b, ok, err := tlog.SignHead(context.Background(), db, l.key, at)
		if err != nil || !ok {
			t.Fatalf("sign: ok=%v err=%v", ok, err)
		}
		signed = b
	})
	return signed
}

func (l *logDir) verify(t *testing.T, given ...[]byte) *tlog.Report {
	t.Helper()
	var rep *tlog.Report
	l.with(t, func(db *bolt.DB) {
		var err error
		rep, err = tlog.Verify(context.Background(), db, tlog.Options{Verifier: l.key.Verifier, Given: given})
		if err != nil {
			t.Fatal(err)
		}
	})
	return rep
}

// tamper edits the bbolt file directly, as someone with the data
// directory would, the store being closed.
func (l *logDir) tamper(t *testing.T, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(l.dir, bolt.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func firstProblem(t *testing.T, rep *tlog.Report) tlog.Problem {
	t.Helper()
	if rep.OK() {
		t.Fatal("the log verified; a problem was expected")
	}
	return rep.Problems[0]
}

func TestVerifyIntactLog(t *testing.T) {
	l := newLog(t, 1000)
	l.sign(t, t0)
	l.append(t, 1000, 37)
	l.sign(t, t0.Add(time.Hour))
	l.append(t, 1037, 5) // not yet signed
	rep := l.verify(t)
	if !rep.OK() {
		t.Fatalf("problems: %v", rep.Problems)
	}
	if rep.Rehashed != 1042 || rep.Size != 1042 || rep.Checkpoints != 2 || rep.Latest == nil || rep.Latest.Size != 1037 {
		t.Fatalf("report: %+v latest %+v", rep, rep.Latest)
	}
}

func TestVerifyNamesTheFirstChange(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(tx *bbolt.Tx) error
		want   tlog.Problem
	}{
		{"modified", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("records"))
			v := strings.Replace(string(b.Get(key(417))), `"server":"kb"`, `"server":"kc"`, 1)
			return b.Put(key(417), []byte(v))
		}, tlog.Problem{Kind: tlog.Modified, Seq: 417}},
		{"removed", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("records")).Delete(key(300))
		}, tlog.Problem{Kind: tlog.Removed, Seq: 300}},
		{"removed at the end", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("records"))
			for s := uint64(990); s <= 1000; s++ {
				if err := b.Delete(key(s)); err != nil {
					return err
				}
			}
			return nil
		}, tlog.Problem{Kind: tlog.Removed, Seq: 990}},
		{"reordered", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("records"))
			a, c := append([]byte(nil), b.Get(key(50))...), append([]byte(nil), b.Get(key(51))...)
			if err := b.Put(key(50), c); err != nil {
				return err
			}
			return b.Put(key(51), a)
		}, tlog.Problem{Kind: tlog.Reordered, Seq: 50, Detail: "it holds what was logged as record 51"}},
		{"added", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("records"))
			return b.Put(key(1001), b.Get(key(1)))
		}, tlog.Problem{Kind: tlog.Added, Seq: 1001}},
		{"corrupt checkpoint signature", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("checkpoints"))
			v := append([]byte(nil), b.Get(key(1000))...)
			v[len(v)-5] ^= 0x01 // inside the base64 signature
			return b.Put(key(1000), v)
		}, tlog.Problem{Kind: tlog.BadCheckpoint, Seq: 1000}},
		{"rewritten with its leaf", func(tx *bbolt.Tx) error {
			// A careful forger rewrites the leaf logged for the record
			// too: the signed checkpoint still tells.
			b, lb := tx.Bucket([]byte("records")), tx.Bucket([]byte("tlog"))
			v := []byte(strings.Replace(string(b.Get(key(700))), `"server":"kb"`, `"server":"kc"`, 1))
			h := sumtlog.RecordHash(v)
			if err := lb.Put(key(uint64(sumtlog.StoredHashIndex(0, 699))), h[:]); err != nil {
				return err
			}
			return b.Put(key(700), v)
		}, tlog.Problem{Kind: tlog.BadCheckpoint, Seq: 1000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t, 1000)
			l.sign(t, t0)
			l.tamper(t, tc.tamper)
			p := firstProblem(t, l.verify(t))
			if p.Kind != tc.want.Kind || p.Seq != tc.want.Seq || (tc.want.Detail != "" && p.Detail != tc.want.Detail) {
				t.Fatalf("first problem %v; want %s of %d %s", p, tc.want.Kind, tc.want.Seq, tc.want.Detail)
			}
		})
	}
}

func TestVerifyCheckpoints(t *testing.T) {
	l := newLog(t, 200)
	old := l.sign(t, t0)
	l.append(t, 200, 50)
	if rep := l.verify(t, old); !rep.OK() || len(rep.Given) != 1 || rep.Given[0].Size != 200 {
		t.Fatalf("a checkpoint of a prefix does not verify: %v", rep.Problems)
	}

	// A checkpoint by another key is refused, not trusted.
	other, err := tlog.LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), l.key.Signer.Name())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tlog.Checkpoint{Origin: other.Signer.Name(), Size: 200, Time: t0}.Sign(other.Signer)
	if err != nil {
		t.Fatal(err)
	}
	l.with(t, func(db *bolt.DB) {
		_, err := tlog.Verify(context.Background(), db, tlog.Options{Verifier: l.key.Verifier, Given: [][]byte{forged}})
		if err == nil || !strings.Contains(err.Error(), "not signed by the log's key") {
			t.Fatalf("forged checkpoint: %v", err)
		}
	})

	// The log shrank below a checkpoint kept elsewhere.
	l.tamper(t, func(tx *bbolt.Tx) error {
		for _, b := range []string{"records"} {
			for s := uint64(150); s <= 250; s++ {
				if err := tx.Bucket([]byte(b)).Delete(key(s)); err != nil {
					return err
				}
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Put([]byte("tlog_size"), key(149)); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("records")).SetSequence(149); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("checkpoints"))
	})
	p := firstProblem(t, l.verify(t, old))
	if p.Kind != tlog.BadCheckpoint || p.Seq != 200 || !strings.Contains(p.Detail, "records 150 to 200 were removed") {
		t.Fatalf("truncated log: %v", p)
	}
}

func TestPruneKeepsTheRestVerifiable(t *testing.T) {
	l := newLog(t, 600) // one a minute from t0
	before := l.sign(t, t0.Add(10*time.Hour))
	var res tlog.Pruned
	l.with(t, func(db *bolt.DB) {
		var err error
		res, err = tlog.Prune(context.Background(), db, l.key, t0.Add(250*time.Minute), t0.Add(11*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	})
	if res.From != 1 || res.Through != 250 || res.Anchor == nil || res.Anchor.Size != 250 {
		t.Fatalf("pruned %+v", res)
	}
	l.append(t, 600, 100)
	after := l.sign(t, t0.Add(12*time.Hour))
	rep := l.verify(t, before, after)
	if !rep.OK() || rep.Pruned != 250 || rep.Rehashed != 450 {
		t.Fatalf("after pruning: problems %v, report %+v", rep.Problems, rep.LogState)
	}
	var n int
	l.with(t, func(db *bolt.DB) {
		db.ScanLeaves(context.Background(), 0, func(uint64, []byte, sumtlog.Hash) error { n++; return nil })
	})
	if n != 450 {
		t.Fatalf("%d records left, want 450", n)
	}

	// A checkpoint from before pruning whose root was forged by the key's
	// holder fails its consistency proof.
	bad := tlog.Checkpoint{Origin: l.key.Signer.Name(), Size: 100, Time: t0}
	signed, err := bad.Sign(l.key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if p := firstProblem(t, l.verify(t, signed)); p.Kind != tlog.BadCheckpoint || p.Seq != 100 || !strings.Contains(p.Detail, "not a prefix") {
		t.Fatalf("forged old checkpoint: %v", p)
	}

	// A change to what remains is still named.
	l.tamper(t, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("records"))
		return b.Put(key(251), []byte(strings.Replace(string(b.Get(key(251))), "kb", "kc", 1)))
	})
	if p := firstProblem(t, l.verify(t)); p.Kind != tlog.Modified || p.Seq != 251 {
		t.Fatalf("after pruning, modified: %v", p)
	}
}

func TestPruneRefusesATamperedLog(t *testing.T) {
	l := newLog(t, 100)
	l.sign(t, t0)
	l.tamper(t, func(tx *bbolt.Tx) error { return tx.Bucket([]byte("records")).Delete(key(10)) })
	l.with(t, func(db *bolt.DB) {
		_, err := tlog.Prune(context.Background(), db, l.key, t0.Add(time.Hour), t0)
		if err == nil || !strings.Contains(err.Error(), "record 10 removed") {
			t.Fatalf("prune of a tampered log: %v", err)
		}
	})
}

func TestPruneFinishesAfterACrash(t *testing.T) {
	l := newLog(t, 100)
	l.with(t, func(db *bolt.DB) {
		if _, err := tlog.Prune(context.Background(), db, l.key, t0.Add(40*time.Minute), t0); err != nil {
			t.Fatal(err)
		}
	})
	// As if the process died after setting the mark, before deleting all:
	// put records 30..40 back.
	var saved [][]byte
	l2 := newLog(t, 100)
	l2.tamper(t, func(tx *bbolt.Tx) error {
		for s := uint64(30); s <= 40; s++ {
			saved = append(saved, append([]byte(nil), tx.Bucket([]byte("records")).Get(key(s))...))
		}
		return nil
	})
	l.tamper(t, func(tx *bbolt.Tx) error {
		for i, v := range saved {
			if err := tx.Bucket([]byte("records")).Put(key(uint64(30+i)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if rep := l.verify(t); !rep.OK() || rep.Rehashed != 60 {
		t.Fatalf("records left behind the mark are not skipped: %v %d", rep.Problems, rep.Rehashed)
	}
	l.with(t, func(db *bolt.DB) {
		if _, err := tlog.Prune(context.Background(), db, l.key, t0, t0); err != nil {
			t.Fatal(err)
		}
		n := 0
		db.ScanLeaves(context.Background(), 0, func(uint64, []byte, sumtlog.Hash) error { n++; return nil })
		if n != 60 {
			t.Fatalf("%d records left, want 60", n)
		}
	})
}

func TestTreeForAStoreFromBeforeIt(t *testing.T) {
	l := newLog(t, 300)
	l.tamper(t, func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket([]byte("tlog")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("tlog_size"))
	})
	l.append(t, 300, 10) // the older records join the tree first
	l.sign(t, t0)
	if rep := l.verify(t); !rep.OK() || rep.Size != 310 {
		t.Fatalf("%v %+v", rep.Problems, rep.LogState)
	}
}

func TestCheckpointSignedByAnotherProcess(t *testing.T) {
	// Two signers of one head: the store keeps the first, both agree.
	l := newLog(t, 10)
	a := l.sign(t, t0)
	b := l.sign(t, t0.Add(time.Minute))
	if string(a) != string(b) {
		t.Fatal("a second signature of the same head replaced the first")
	}
}

func TestThinKeepsOnePerDay(t *testing.T) {
	l := newLog(t, 1)
	now := t0.Add(30 * 24 * time.Hour)
	// Three checkpoints a day for 10 days before now, the last 3 days
	// inside the window kept whole.
	for d := 10; d >= 1; d-- {
		for h := range 3 {
			l.append(t, 0, 1)
			l.sign(t, now.Add(-time.Duration(d)*24*time.Hour+time.Duration(h)*time.Hour))
		}
	}
	l.with(t, func(db *bolt.DB) {
		n, err := tlog.Thin(context.Background(), db, now, 3*24*time.Hour+time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if n != 7*2 {
			t.Fatalf("dropped %d checkpoints, want 14 (two of three on each of 7 old days)", n)
		}
	})
	rep := l.verify(t)
	if !rep.OK() || rep.Checkpoints != 7+9 || rep.Latest.Size != 31 {
		t.Fatalf("after thinning: %v, %d checkpoints, latest %+v", rep.Problems, rep.Checkpoints, rep.Latest)
	}
}

// Records a filter stores while verify runs are not "added": they are in
// the tree by the time verify sees them.
func TestVerifyWhileRecordsArrive(t *testing.T) {
	l := newLog(t, 5000)
	l.sign(t, t0)
	l.with(t, func(db *bolt.DB) {
		ctx := context.Background()
		appended := false
		rep, err := tlog.Verify(ctx, db, tlog.Options{Verifier: l.key.Verifier, Progress: func(done uint64) {
			if !appended && done > 0 {
				appended = true
				var recs []*ctxguard.Record
				for i := range 2000 { // enough to move past the write-ahead log
					recs = append(recs, &ctxguard.Record{Time: t0, Origin: ctxguard.Origin{Server: "kb", URI: fmt.Sprint(i)}, SHA256: strings.Repeat("a", 64)})
				}
				if err := db.AppendRecords(ctx, recs); err != nil {
					t.Error(err)
				}
				if _, err := db.LogState(ctx); err != nil {
					t.Error(err)
				}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if !appended || !rep.OK() || rep.Rehashed != 5000 {
			t.Fatalf("appended %v, problems %v, rehashed %d", appended, rep.Problems, rep.Rehashed)
		}
	})
}

// signsAfterState is a store where another process stores and signs more
// records right after each look at the log's state.
type signsAfterState struct {
	*bolt.DB
	hook func()
}

func (s *signsAfterState) LogState(ctx context.Context) (store.LogState, error) {
	st, err := s.DB.LogState(ctx)
	if s.hook != nil {
		h := s.hook
		s.hook = nil
		h()
	}
	return st, err
}

func TestVerifyWhileAnotherProcessSigns(t *testing.T) {
	l := newLog(t, 50)
	l.sign(t, t0)
	l.with(t, func(db *bolt.DB) {
		ctx := context.Background()
		s := &signsAfterState{DB: db}
		s.hook = func() {
			var recs []*ctxguard.Record
			for i := range 10 {
				recs = append(recs, &ctxguard.Record{Time: t0, Origin: ctxguard.Origin{Server: "kb", URI: fmt.Sprint(i)}})
			}
			if err := db.AppendRecords(ctx, recs); err != nil {
				t.Error(err)
			}
			if _, _, _, err := tlog.SignHead(ctx, db, l.key, t0); err != nil {
				t.Error(err)
			}
		}
		rep, err := tlog.Verify(ctx, s, tlog.Options{Verifier: l.key.Verifier})
		if err != nil || !rep.OK() {
			t.Fatalf("%v %v", err, rep.Problems)
		}
	})
}

// A pruning by another process while verify runs is not a removal.
func TestVerifyWhileAnotherProcessPrunes(t *testing.T) {
	l := newLog(t, 10000) // one a minute from t0
	l.sign(t, t0)
	l.with(t, func(db *bolt.DB) {
		ctx := context.Background()
		pruned := false
		rep, err := tlog.Verify(ctx, db, tlog.Options{Verifier: l.key.Verifier, Progress: func(done uint64) {
			if !pruned && done > 0 && done < 10000 {
				pruned = true
				if _, err := tlog.Prune(ctx, db, l.key, t0.Add(8000*time.Minute), t0); err != nil {
					t.Error(err)
				}
			}
		}})
		if err != nil || !pruned || !rep.OK() {
			t.Fatalf("pruned %v: %v %v", pruned, err, rep.Problems)
		}
	})
}

// Removing the log's start and moving the pruning mark does not pass for
// retention: the signed statement of the pruning says what was pruned.
func TestForgedPruning(t *testing.T) {
	for _, legit := range []bool{false, true} {
		t.Run(fmt.Sprintf("after a real pruning %v", legit), func(t *testing.T) {
			l := newLog(t, 300)
			l.sign(t, t0.Add(time.Hour)) // an ordinary checkpoint at 300
			l.append(t, 300, 300)
			l.sign(t, t0.Add(2*time.Hour))
			if legit {
				l.with(t, func(db *bolt.DB) {
					if _, err := tlog.Prune(context.Background(), db, l.key, t0.Add(100*time.Minute), t0); err != nil {
						t.Fatal(err)
					}
				})
				if rep := l.verify(t); !rep.OK() || rep.Pruning == nil || rep.Pruning.Through != 100 {
					t.Fatalf("a real pruning: %v %+v", rep.Problems, rep.Pruning)
				}
			}
			l.tamper(t, func(tx *bbolt.Tx) error {
				for s := uint64(1); s <= 300; s++ {
					tx.Bucket([]byte("records")).Delete(key(s))
				}
				return tx.Bucket([]byte("meta")).Put([]byte("pruned_through"), key(300))
			})
			p := firstProblem(t, l.verify(t))
			want := "no signed statement"
			if legit {
				want = "covers records 1 to 100"
			}
			if p.Kind != tlog.Removed || p.Seq != 1 || !strings.Contains(p.Detail, want) {
				t.Fatalf("forged pruning: %v", p)
			}
		})
	}
}
