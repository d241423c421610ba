package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// Options that keep everything in the log until the store closes.
var logOnly = Options{Linger: 1 << 40, CheckpointBytes: 1 << 40}

func record(tag string) *ctxguard.Record {
	return &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb"}, Kind: ctxguard.KindText, SHA256: tag}
}

func appendTagged(t *testing.T, db *DB, tags ...string) {
	t.Helper()
	for _, tag := range tags {
		if err := db.AppendRecords(context.Background(), []*ctxguard.Record{record(tag)}); err != nil {
			t.Fatalf("append %s: %v", tag, err)
		}
	}
}

// tags opens dir as the next process would and lists its records' tags.
func tags(t *testing.T, dir string) []string {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	if err := db.ScanRecords(context.Background(), store.RecordQuery{}, func(r *ctxguard.Record) error { out = append(out, r.SHA256); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// image copies the data directory as the disk holds it at a kill -9.
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

func series(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
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
