package anomaly

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

// stateless returns the observation of a read made by a stateless HTTP
// request (2026-07-28): the proxy gives each such request a session of its
// own, so the session names the request, not the client.
func stateless(request int, caller *ctxguard.Caller, client ctxguard.Peer, at time.Time) Observation {
	uri := fmt.Sprintf("file:///kb/doc%d.md", request%7)
	r := &ctxguard.Record{Time: at, Origin: ctxguard.Origin{Server: "kb", Transport: "streamable-http",
		Session: fmt.Sprintf("req-%06d", request), Client: client, ProtocolVersion: "2026-07-28",
		Message: "response", Method: "resources/read", URI: uri, Caller: caller},
		Kind: ctxguard.KindText, Size: 100, SHA256: doc("", uri, uri, 100).SHA256}
	o, ok := FromRecord(r)
	if !ok {
		panic("no observation")
	}
	return o
}

func countRule(hits []Hit, rule ctxguard.AnomalyRule) (reported, all int) {
	for _, h := range hits {
		if h.Anomaly.Rule == rule {
			all++
			if h.Report {
				reported++
			}
		}
	}
	return reported, all
}

// A client reading through stateless requests at night is one caller: it
// gets one off-hours anomaly per window, not one per request.
func TestOffHoursStatelessOncePerCallerWindow(t *testing.T) {
	rules := only(ctxguard.RuleOffHours, nil)
	night := t0.Add(14 * time.Hour) // Wednesday 00:00
	for _, c := range []struct {
		name   string
		caller *ctxguard.Caller
		client ctxguard.Peer
	}{
		{"token", &ctxguard.Caller{TokenSHA256: "aa"}, ctxguard.Peer{}},
		{"subject", &ctxguard.Caller{TokenSHA256: "bb", Subject: "alice"}, ctxguard.Peer{}},
		{"client", nil, ctxguard.Peer{Name: "agent", Version: "1"}},
		{"anonymous", nil, ctxguard.Peer{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(rules, func() time.Time { return night })
			var hits []Hit
			for i := range 100 { // 100 reads, 20 s apart: within an hour
				hits = append(hits, d.Observe([]Observation{stateless(i, c.caller, c.client, night.Add(time.Duration(i)*20*time.Second))})...)
			}
			if n, _ := countRule(hits, ctxguard.RuleOffHours); n != 1 {
				t.Fatalf("100 stateless reads of one caller off hours: %d anomalies reported, want 1", n)
			}
			// The next window reports again, once.
			hits = nil
			for i := range 10 {
				hits = append(hits, d.Observe([]Observation{stateless(1000+i, c.caller, c.client, night.Add(2*time.Hour+time.Duration(i)*time.Second))})...)
			}
			if n, _ := countRule(hits, ctxguard.RuleOffHours); n != 1 {
				t.Fatalf("reads of the next window: %d anomalies reported, want 1", n)
			}
			// Another caller is another: it gets its own.
			other := stateless(5000, &ctxguard.Caller{TokenSHA256: "other"}, ctxguard.Peer{}, night.Add(2*time.Hour+time.Minute))
			if n, _ := countRule(d.Observe([]Observation{other}), ctxguard.RuleOffHours); n != 1 {
				t.Fatalf("another caller: %d anomalies reported, want 1", n)
			}
		})
	}
}

// The session limits of bulk_read count a stateless caller's reads.
func TestBulkReadStatelessSessionLimits(t *testing.T) {
	rules := only(ctxguard.RuleBulkRead, func(r *Rules) { r.BulkRead.SessionItems = 50 })
	d := New(rules, func() time.Time { return t0 })
	caller := &ctxguard.Caller{TokenSHA256: "aa", Subject: "alice"}
	var hits []Hit
	for i := range 200 {
		hits = append(hits, d.Observe([]Observation{stateless(i, caller, ctxguard.Peer{}, t0.Add(time.Duration(i)*time.Second))})...)
	}
	if n, _ := countRule(hits, ctxguard.RuleBulkRead); n != 1 {
		t.Fatalf("200 stateless reads of one caller over a session limit of 50: %d bulk reads reported, want 1", n)
	}
}

// A session in use is never forgotten for another: its records are not
// learned again from the store (they would count its reads twice).
func TestOwnSessionsBoundedWithoutForgettingLiveOnes(t *testing.T) {
	d := New(DefaultRules(), func() time.Time { return t0 })
	live := doc("live", "file:///kb/a.md", "a", 1)
	live.Time = t0
	d.Observe([]Observation{live})
	for i := range MaxSessions + 10 {
		if i%1000 == 0 {
			d.Observe([]Observation{live}) // still in use
		}
		o := doc(fmt.Sprintf("s%d", i), "file:///kb/b.md", "b", 1)
		o.Time = t0
		d.Observe([]Observation{o})
		if !d.Own("live") {
			t.Fatalf("after %d other sessions, the live session is no longer known as this detector's", i+1)
		}
	}
	if d.Own("s0") {
		t.Error("the session least recently used was not forgotten: the sessions are not bounded")
	}
	// Stateless requests are this detector's too, each by its own session.
	night := t0
	o := stateless(1, &ctxguard.Caller{TokenSHA256: "aa"}, ctxguard.Peer{}, night)
	d.Observe([]Observation{o})
	if !d.Own(o.Session) {
		t.Error("the session of a stateless request observed here is not known as this detector's: its records would be learned again")
	}
}

// The records of stateless requests this process observed are not learned
// again when the next Sync reads them back: each read counts once.
func TestStatelessRecordsNotLearnedTwice(t *testing.T) {
	p := start(t, t.TempDir())
	caller := &ctxguard.Caller{TokenSHA256: "aa"}
	var recs []*ctxguard.Record
	for i := range 30 {
		o := stateless(i*7, caller, ctxguard.Peer{}, t0.Add(time.Duration(i)*time.Second)) // doc0.md each time
		p.d.Observe([]Observation{o})
		recs = append(recs, &ctxguard.Record{Time: o.Time, Origin: ctxguard.Origin{Server: o.Server, Transport: "streamable-http",
			Session: o.Session, ProtocolVersion: "2026-07-28", Message: o.Message, Method: o.Method, URI: o.URI, Caller: caller},
			Kind: o.Kind, Size: o.Size, SHA256: o.SHA256})
	}
	if err := p.db.AppendRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := p.d.Sync(context.Background(), p.db, p.db); err != nil {
		t.Fatal(err)
	}
	if n := p.reads("file:///kb/doc0.md"); n != 30 {
		t.Fatalf("30 stateless reads count as %d after a sync", n)
	}
}
