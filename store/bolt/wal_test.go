package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// Options that keep everything in the log until the store closes.
var logOnly = Options{Linger: 1 << 40, CheckpointBytes: 1 << 40}

func record(tag string) *ctxguard.Record {
	return &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb"}, Kind: ctxguard.KindText, SHA256: tag}
}

// appendTagged appends one record per tag, one call each, and returns
// them with their sequence numbers.
func appendTagged(t *testing.T, db *DB, labels ...string) []*ctxguard.Record {
	t.Helper()
	var recs []*ctxguard.Record
	for _, tag := range labels {
		r := record(tag)
		if err := db.AppendRecords(context.Background(), []*ctxguard.Record{r}); err != nil {
			t.Fatalf("append %s: %v", tag, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func series(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// image copies the data directory as the disk holds it at a kill -9: what
// was written, with nothing closed.
func image(t *testing.T, dir string) string {
	t.Helper()
	img := t.TempDir()
	for _, name := range []string{FileName, FileName + WALSuffix} {
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

// settle waits for a checkpoint moving in the background. A crash stops
// the database and the log at one instant; image copies one file and then
// the other, which agree with each other only while nothing moves between
// them.
func settle(db *DB) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.awaitMove()
}

// readAll opens dir as the next process would and returns its records,
// checking that their sequence numbers rise.
func readAll(t *testing.T, dir string) []*ctxguard.Record {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return scan(t, db, store.RecordQuery{})
}

// tags lists the tags of dir's records.
func tags(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, r := range readAll(t, dir) {
		out = append(out, r.SHA256)
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
				db, err := Open(dir, Options{Durability: d, CheckpointBytes: cp, Linger: 1 << 40})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				want := appendTagged(t, db, series("a", 100)...)
				settle(db)
				img := image(t, dir)
				sameRecords(t, readAll(t, img), want)

				// The recovered store takes new records after the old ones,
				// and they survive the next crash too.
				db2, err := Open(img, Options{Durability: d, CheckpointBytes: cp, Linger: 1 << 40})
				if err != nil {
					t.Fatal(err)
				}
				defer db2.Close()
				want = append(want, appendTagged(t, db2, series("b", 30)...)...)
				settle(db2)
				sameRecords(t, readAll(t, image(t, img)), want)
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
			db, err := Open(dir, logOnly)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			want := appendTagged(t, db, series("a", 20)...)
			img := image(t, dir)
			log := filepath.Join(img, FileName+WALSuffix)
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
	db, err := Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	first := appendTagged(t, db, series("a", 5)...)
	db.Close() // checkpoints: these are in bbolt
	db, err = Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	second := appendTagged(t, db, series("b", 3)...) // these stay in the log
	all := append(first, second...)
	for last, want := range map[int][]*ctxguard.Record{2: all[6:], 3: all[5:], 4: all[4:], 8: all, 20: all} {
		var got []*ctxguard.Record
		if err := db.ScanRecords(context.Background(), store.RecordQuery{Last: last}, func(r *ctxguard.Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, got, want)
	}
}

// An append whose fdatasync fails reports the error and is not stored:
// not by the next append of the same process, not after a crash.
func TestFailedAppendIsNotStored(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendTagged(t, db, "ok-0", "ok-1", "ok-2")

	real := fdatasync
	failing := true
	fdatasync = func(f *os.File) error {
		if failing {
			failing = false // the wipe after the failure succeeds
			return errors.New("input/output error (injected)")
		}
		return real(f)
	}
	defer func() { fdatasync = real }()
	if err := db.AppendRecords(context.Background(), []*ctxguard.Record{record("FAILED")}); err == nil {
		t.Fatal("append succeeded although its fdatasync failed")
	}
	if got := strings.Join(tags(t, image(t, dir)), " "); got != "ok-0 ok-1 ok-2" {
		t.Fatalf("after the failed append and a crash: %s", got)
	}
	appendTagged(t, db, "next")
	want := "ok-0 ok-1 ok-2 next"
	if got := strings.Join(tags(t, image(t, dir)), " "); got != want {
		t.Fatalf("after a crash: %s, want %s", got, want)
	}
	db.Close()
	if got := strings.Join(tags(t, dir), " "); got != want {
		t.Fatalf("after close: %s, want %s", got, want)
	}
}

// A group torn by a power loss (never acknowledged) leaves frames in the
// log beyond what recovery reads. Appends by the next process reuse those
// offsets with the same sequence numbers; after its crash, the torn
// group's frames must not read as the continuation.
func TestTornGroupStaysDead(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	appendTagged(t, db, series("A", 10)...)
	db.Close() // checkpointed; the log starts again
	db, err = Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	before := image(t, dir)
	var group []*ctxguard.Record
	for _, tag := range series("TORN", 60) {
		group = append(group, record(tag))
	}
	if err := db.AppendRecords(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	img := image(t, dir)
	db.Close()
	// The power loss: the first page of the group's write never reached
	// the disk, the later ones did.
	log := filepath.Join(img, FileName+WALSuffix)
	torn, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join(before, FileName+WALSuffix))
	if err != nil {
		t.Fatal(err)
	}
	copy(torn[:4096], old[:4096])
	if err := os.WriteFile(log, torn, 0o600); err != nil {
		t.Fatal(err)
	}

	next, err := Open(img, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	// Records of the same shape as the torn ones, so that frames align.
	for i, tag := range series("NEXT", 60) {
		appendTagged(t, next, tag)
		got := tags(t, image(t, img))
		if len(got) != 10+i+1 || got[len(got)-1] != tag {
			t.Fatalf("after acknowledging %s and a crash: %d records, the last %s", tag, len(got), got[len(got)-1])
		}
	}
}

// A record too large for a frame is refused, not written where it would
// hide every later record from recovery.
func TestOversizeRecordIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, logOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendTagged(t, db, "a")
	big := record("big")
	big.Note = strings.Repeat("x", maxFrame+1)
	if err := db.AppendRecords(context.Background(), []*ctxguard.Record{big}); err == nil {
		t.Fatal("a record larger than a frame was accepted")
	}
	appendTagged(t, db, "c")
	if got := strings.Join(tags(t, image(t, dir)), " "); got != "a c" {
		t.Fatalf("after a crash: %s, want a c", got)
	}
}

// The append that fills the log does not wait for its checkpoint: the
// records move into bbolt in the background while appends go on into the
// log, reads find every record meanwhile, once each, and all of them are
// there after the move, after Close and after a crash during the move.
func TestCheckpointMovesInTheBackground(t *testing.T) {
	for _, d := range []store.Durability{store.Strict, store.Relaxed} {
		t.Run(d.String(), func(t *testing.T) {
			// After Close, which waits for the moves.
			defer func() { beforeMove, afterMove = func() {}, func() {} }()
			dir := t.TempDir()
			db, err := Open(dir, Options{Durability: d, CheckpointBytes: 2 << 10, Linger: 1 << 40})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// Older records, in bbolt alone.
			older := appendTagged(t, db, series("z", 20)...)
			if _, err := db.LogState(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The first move is held before its transaction (until
			// release) and after it (until finish); the hooks are set
			// before any move starts, which takes them.
			started, release := make(chan struct{}, 1), make(chan struct{})
			committed, finish := make(chan struct{}), make(chan struct{})
			var first sync.Once
			beforeMove = func() {
				select {
				case started <- struct{}{}:
				default:
				}
				<-release
			}
			afterMove = func() {
				held := false
				first.Do(func() { close(committed); held = true })
				if held {
					<-finish
				}
			}
			// Appends until one of them starts a move, then twenty more
			// while the move is held (fewer than the backlog after which
			// appends do wait): they would never return if they waited
			// for it.
			appended := make(chan []*ctxguard.Record, 1)
			go func() {
				var recs []*ctxguard.Record
				add := func(tag string) {
					r := record(tag)
					if err := db.AppendRecords(context.Background(), []*ctxguard.Record{r}); err != nil {
						t.Error(err)
					}
					recs = append(recs, r)
				}
				for i := 0; !moving(db) && i < 1000; i++ {
					add(fmt.Sprintf("a-%03d", i))
				}
				for _, tag := range series("b", 20) {
					add(tag)
				}
				appended <- recs
			}()
			want := older
			select {
			case recs := <-appended:
				want = append(want, recs...)
			case <-time.After(30 * time.Second):
				close(release)
				t.Fatal("appends waited for the checkpoint's transaction")
			}
			select {
			case <-started:
			case <-time.After(30 * time.Second):
				close(release)
				t.Fatal("no checkpoint started")
			}
			sameRecords(t, scan(t, db, store.RecordQuery{}), want)
			img := image(t, dir) // a crash now: the move never committed
			// Once the move has committed, its records are in bbolt and
			// still among the log's until it finishes: read once each.
			close(release)
			<-committed
			sameRecords(t, scan(t, db, store.RecordQuery{}), want)
			sameRecords(t, scan(t, db, store.RecordQuery{Last: len(want) - 10}), want[10:])
			close(finish)
			settle(db)
			sameRecords(t, scan(t, db, store.RecordQuery{}), want)
			sameRecords(t, scan(t, db, store.RecordQuery{Last: len(want) - 10}), want[10:])
			sameRecords(t, readAll(t, img), want)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			sameRecords(t, readAll(t, dir), want)
		})
	}
}

// moving reports whether a checkpoint is moving records in the background.
func moving(db *DB) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.moving != nil
}

// scan returns the records an open store reads for q, checking that their
// sequence numbers rise.
func scan(t *testing.T, db *DB, q store.RecordQuery) []*ctxguard.Record {
	t.Helper()
	var out []*ctxguard.Record
	err := db.ScanRecords(context.Background(), q, func(r *ctxguard.Record) error {
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
