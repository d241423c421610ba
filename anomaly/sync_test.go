package anomaly

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// process is one ctxguard process on a data directory: its store and its
// detector, restored from the store.
type process struct {
	t  *testing.T
	db *bolt.DB
	d  *Detector
}

func start(t *testing.T, dir string) *process {
	t.Helper()
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rules := DefaultRules()
	rules.FirstSeen.LearnFor = 0
	d := New(rules, func() time.Time { return t0 })
	if err := d.Restore(context.Background(), db, db); err != nil {
		t.Fatal(err)
	}
	return &process{t, db, d}
}

// read observes one document read as the filter does: the detector first,
// then the record, stored.
func (p *process) read(at time.Duration, session, uri, content string) []Hit {
	p.t.Helper()
	o := doc(session, uri, content, int64(len(content)))
	o.Time = t0.Add(at)
	hits := p.d.Observe([]Observation{o})
	rec := &ctxguard.Record{Time: o.Time, Origin: ctxguard.Origin{Server: o.Server, Session: o.Session, Message: o.Message,
		Method: o.Method, URI: o.URI}, Kind: o.Kind, Size: o.Size, SHA256: o.SHA256}
	if err := p.db.AppendRecords(context.Background(), []*ctxguard.Record{rec}); err != nil {
		p.t.Fatal(err)
	}
	return hits
}

func (p *process) reads(uri string) uint32 {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	s := p.d.docs[docKey{"kb", uri}]
	if s == nil {
		return 0
	}
	return s.Reads.sum(t0.Add(3*time.Hour), p.d.rules.HotChange.Window)
}

func rulesOf(hits []Hit) []ctxguard.AnomalyRule {
	var out []ctxguard.AnomalyRule
	for _, h := range hits {
		if h.Report {
			out = append(out, h.Anomaly.Rule)
		}
	}
	return out
}

const uriA = "file:///kb/a.md"

// A process that exits without saving loses nothing: the next one
// replays its records, and saves, so that the one after does not.
func TestStateSurvivesAnExitWithoutSave(t *testing.T) {
	dir := t.TempDir()
	p1 := start(t, dir)
	for i := range 20 {
		if h := p1.read(time.Duration(i)*time.Minute, "s1", uriA, "v1"); h != nil {
			t.Fatalf("read %d: %v", i, rulesOf(h))
		}
	}
	p1.db.Close() // no Sync: the process ended

	p2 := start(t, dir)
	if n := p2.reads(uriA); n != 20 {
		t.Fatalf("after replay: %d reads, want 20", n)
	}
	hits := p2.read(time.Hour, "s2", uriA, "v2")
	if got := rulesOf(hits); len(got) != 1 || got[0] != ctxguard.RuleHotChange {
		t.Fatalf("the change in the next process reported %v, want hot_change", got)
	}
	if !strings.Contains(hits[0].Anomaly.Detail, "after 20 read(s)") {
		t.Fatalf("detail: %s", hits[0].Anomaly.Detail)
	}
	p2.db.Close()

	// Restore saved the replay: the next process loads it and replays only
	// p2's one read.
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cursor, err := db.LoadAnomalyState(context.Background(), func(string, []byte) error { return nil })
	db.Close()
	if err != nil || cursor != 20 {
		t.Fatalf("saved cursor %d (%v), want 20 (p1's records)", cursor, err)
	}
	p3 := start(t, dir)
	if n := p3.reads(uriA); n != 21 {
		t.Fatalf("third process: %d reads, want 21 (none counted twice)", n)
	}
	if h := p3.read(2*time.Hour, "s3", uriA, "v2"); h != nil {
		t.Fatalf("reading the content the last process saw reported %v", rulesOf(h))
	}
}

// Two processes at once: each learns the other's reads at its next sync,
// and never counts its own twice.
func TestStateSharedBetweenRunningProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p1, p2 := start(t, dir), start(t, dir)
	for i := range 20 {
		p1.read(time.Duration(i)*time.Minute, "s1", uriA, "v1")
	}
	if err := p1.d.Sync(ctx, p1.db, p1.db); err != nil {
		t.Fatal(err)
	}
	if n := p1.reads(uriA); n != 20 {
		t.Fatalf("p1 after its own sync: %d reads, want 20", n)
	}
	if n := p2.reads(uriA); n != 0 {
		t.Fatalf("p2 before its sync: %d reads", n)
	}
	if err := p2.d.Sync(ctx, p2.db, p2.db); err != nil {
		t.Fatal(err)
	}
	if n := p2.reads(uriA); n != 20 {
		t.Fatalf("p2 after its sync: %d reads, want 20", n)
	}
	if got := rulesOf(p2.read(time.Hour, "s2", uriA, "v2")); len(got) != 1 || got[0] != ctxguard.RuleHotChange {
		t.Fatalf("p2 reported %v, want hot_change", got)
	}
	// p1 learns p2's read of the new content: reading it is no change.
	if err := p1.d.Sync(ctx, p1.db, p1.db); err != nil {
		t.Fatal(err)
	}
	if h := p1.read(2*time.Hour, "s1", uriA, "v2"); h != nil {
		t.Fatalf("p1 reported %v for content p2 had seen", rulesOf(h))
	}
	// A save behind the other process's is refused and kept for later.
	if err := p2.d.Sync(ctx, p2.db, p2.db); err != nil {
		t.Fatal(err)
	}
}

// A process learns from another's anomaly record that content is held.
func TestHeldContentLearnedFromRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p1, p2 := start(t, dir), start(t, dir)
	p1.read(0, "s1", uriA, "v2")
	a := &ctxguard.Record{Time: t0, Origin: ctxguard.Origin{Server: "kb", Session: "s1", Message: "anomaly", URI: uriA},
		Kind: ctxguard.KindAnomaly, SHA256: doc("s1", uriA, "v2", 2).SHA256, QuarantineID: "Q1",
		Anomaly: &ctxguard.Anomaly{Rule: ctxguard.RuleHotChange, Quarantine: true}}
	if err := p1.db.AppendRecords(ctx, []*ctxguard.Record{a}); err != nil {
		t.Fatal(err)
	}
	if err := p2.d.Sync(ctx, p2.db, p2.db); err != nil {
		t.Fatal(err)
	}
	hits := p2.read(time.Minute, "s2", uriA, "v2")
	if len(hits) != 1 || hits[0].HeldID != "Q1" {
		t.Fatalf("p2 read held content as %+v", hits)
	}
	p3 := start(t, dir) // and a process started later, from the replay
	if hits := p3.read(2*time.Minute, "s3", uriA, "v2"); len(hits) != 1 || hits[0].HeldID != "Q1" {
		t.Fatalf("p3 read held content as %+v", hits)
	}
}
