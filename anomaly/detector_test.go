package anomaly

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

// t0 is a Wednesday, 10:00 UTC: working hours.
var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// step is one message of a scripted sequence: its items, at t0 + at.
type step struct {
	at    time.Duration
	items []Observation
}

func doc(session, uri, content string, size int64) Observation {
	return Observation{Server: "kb", Session: session, Message: "response", Method: "resources/read", URI: uri,
		Kind: ctxguard.KindText, Size: size, SHA256: fmt.Sprintf("%064x", len(content))[:48] + fmt.Sprintf("%016x", hash(content))}
}

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// reads returns n steps reading one document each, a minute apart from at.
func reads(at time.Duration, n int, o Observation) []step {
	var out []step
	for i := range n {
		out = append(out, step{at + time.Duration(i)*time.Minute, []Observation{o}})
	}
	return out
}

func seq(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		}
	}
	return out
}

// run plays steps into a new detector and returns the hits, with the
// index of the step each came from.
func run(t *testing.T, rules Rules, steps []step) (hits []Hit, at []int) {
	t.Helper()
	d := New(rules, func() time.Time { return t0 })
	for i, s := range steps {
		batch := append([]Observation(nil), s.items...)
		for j := range batch {
			batch[j].Time = t0.Add(s.at)
		}
		for _, h := range d.Observe(batch) {
			hits, at = append(hits, h), append(at, i)
		}
	}
	return hits, at
}

// only returns the default rules with one rule changed and every other
// rule off, so that each case shows one rule.
func only(rule ctxguard.AnomalyRule, change func(*Rules)) Rules {
	r := DefaultRules()
	r.HotChange.Enabled, r.ChangeBurst.Enabled, r.BulkRead.Enabled = false, false, false
	r.OffHours.Enabled, r.FirstSeen.Enabled, r.SizeJump.Enabled = false, false, false
	switch rule {
	case ctxguard.RuleHotChange:
		r.HotChange.Enabled = true
	case ctxguard.RuleChangeBurst:
		r.ChangeBurst.Enabled = true
	case ctxguard.RuleBulkRead:
		r.BulkRead.Enabled = true
	case ctxguard.RuleOffHours:
		r.OffHours.Enabled = true
	case ctxguard.RuleFirstSeen:
		r.FirstSeen.Enabled = true
	case ctxguard.RuleSizeJump:
		r.SizeJump.Enabled = true
	}
	if change != nil {
		change(&r)
	}
	return r
}

func TestRules(t *testing.T) {
	const (
		a = "file:///kb/a.md"
		b = "file:///kb/b.md"
	)
	v1, v2 := doc("s1", a, "v1", 100), doc("s1", a, "v2", 120)
	other := doc("s2", a, "v2", 120) // another session reads the change
	burst := func(n int, every time.Duration) []step {
		var out []step
		for i := range n {
			u := fmt.Sprintf("file:///kb/doc%d.md", i)
			out = append(out, step{0, []Observation{doc("s1", u, "old", 100)}})
			out = append(out, step{time.Hour + time.Duration(i)*every, []Observation{doc("s1", u, "new", 100)}})
		}
		return out
	}
	items := func(n int, size int64) step {
		s := step{}
		for i := range n {
			s.items = append(s.items, doc("s1", fmt.Sprintf("file:///kb/bulk/%d.md", i), "x", size))
		}
		return s
	}
	wed := func(h, m int) time.Duration { return time.Duration(h-10)*time.Hour + time.Duration(m)*time.Minute }
	newServer := func(at time.Duration, srv, uri string) step {
		o := doc("s9", uri, "x", 10)
		o.Server = srv
		return step{at, []Observation{o}}
	}
	sized := func(at time.Duration, content string, size int64) step {
		return step{at, []Observation{doc("s1", a, content, size)}}
	}

	tests := []struct {
		name  string
		rules Rules
		steps []step
		// want lists the rule of each reported hit, in order; quarantined
		// counts every hit (reported or not) when the rule quarantines.
		want        []ctxguard.AnomalyRule
		quarantined int
		detail      string
	}{
		// hot_change: 20 reads then a change is reads × changes = 20.
		{name: "hot change fires", rules: only(ctxguard.RuleHotChange, nil),
			steps: seq(reads(0, 20, v1), step{time.Hour, []Observation{v2}}),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleHotChange}, detail: "changed after 20 read(s)"},
		{name: "hot change: a second change in the window weighs double", rules: only(ctxguard.RuleHotChange, nil),
			steps: seq(reads(0, 10, v1), step{time.Hour, []Observation{v2}}, reads(2*time.Hour, 1, v2), step{3 * time.Hour, []Observation{v1}}),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleHotChange}, detail: "(2 change(s) in the window)"},
		{name: "hot change quiet: read often, never changed", rules: only(ctxguard.RuleHotChange, nil),
			steps: reads(0, 100, v1)},
		{name: "hot change quiet: changed, but rarely read", rules: only(ctxguard.RuleHotChange, nil),
			steps: seq(reads(0, 3, v1), step{time.Hour, []Observation{v2}}, reads(2*time.Hour, 3, other))},
		{name: "hot change quiet: the reads are older than the window", rules: only(ctxguard.RuleHotChange, nil),
			steps: seq(reads(0, 30, v1), step{48 * time.Hour, []Observation{v2}})},
		{name: "hot change quarantines the changed item", rules: only(ctxguard.RuleHotChange, func(r *Rules) { r.HotChange.Quarantine = true }),
			steps: seq(reads(0, 20, v1), step{time.Hour, []Observation{v2}}),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleHotChange}, quarantined: 1},

		// change_burst: 3 documents changed within the hour.
		{name: "change burst fires once per window", rules: only(ctxguard.RuleChangeBurst, func(r *Rules) { r.ChangeBurst.Threshold = 3 }),
			steps: burst(5, time.Minute), want: []ctxguard.AnomalyRule{ctxguard.RuleChangeBurst}, detail: "3 document(s) of server \"kb\" changed within 1h0m0s"},
		{name: "change burst quarantines every change of the burst", rules: only(ctxguard.RuleChangeBurst, func(r *Rules) {
			r.ChangeBurst.Threshold, r.ChangeBurst.Quarantine = 3, true
		}), steps: burst(5, time.Minute), want: []ctxguard.AnomalyRule{ctxguard.RuleChangeBurst}, quarantined: 3},
		{name: "change burst quiet: changes spread over hours", rules: only(ctxguard.RuleChangeBurst, func(r *Rules) { r.ChangeBurst.Threshold = 3 }),
			steps: burst(5, 40*time.Minute)},

		// bulk_read: per call and per session.
		{name: "bulk read: one call over the item limit", rules: only(ctxguard.RuleBulkRead, func(r *Rules) { r.BulkRead.CallItems = 5 }),
			steps: seq(items(6, 10)), want: []ctxguard.AnomalyRule{ctxguard.RuleBulkRead}, detail: "one call read 6 item(s)"},
		{name: "bulk read: one call over the byte limit", rules: only(ctxguard.RuleBulkRead, func(r *Rules) { r.BulkRead.CallBytes = 1000 }),
			steps: seq(items(2, 600)), want: []ctxguard.AnomalyRule{ctxguard.RuleBulkRead}},
		{name: "bulk read: a session over its limit, reported once", rules: only(ctxguard.RuleBulkRead, func(r *Rules) { r.BulkRead.SessionItems = 10 }),
			steps: seq(items(3, 10), items(3, 10), items(3, 10), items(3, 10), items(3, 10)),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleBulkRead}, detail: "one session read 11 item(s)"},
		{name: "bulk read: quarantine holds every item past the limit", rules: only(ctxguard.RuleBulkRead, func(r *Rules) {
			r.BulkRead.SessionItems, r.BulkRead.Quarantine = 10, true
		}), steps: seq(items(3, 10), items(3, 10), items(3, 10), items(3, 10)), want: []ctxguard.AnomalyRule{ctxguard.RuleBulkRead}, quarantined: 2},
		{name: "bulk read quiet: under the limits", rules: only(ctxguard.RuleBulkRead, func(r *Rules) {
			r.BulkRead.CallItems, r.BulkRead.SessionItems = 5, 10
		}), steps: seq(items(5, 10), items(5, 10))},

		// off_hours: 08:00-18:00, Monday to Friday, UTC.
		{name: "off hours: a weekday evening", rules: only(ctxguard.RuleOffHours, func(r *Rules) {
			r.OffHours.Hours, r.OffHours.Location = []Span{{8 * 60, 18 * 60}}, time.UTC
		}), steps: seq(reads(wed(22, 30), 3, v1)), want: []ctxguard.AnomalyRule{ctxguard.RuleOffHours}, detail: "read at Wed 22:30 UTC"},
		{name: "off hours: a Saturday", rules: only(ctxguard.RuleOffHours, func(r *Rules) {
			r.OffHours.Hours, r.OffHours.Location = []Span{{8 * 60, 18 * 60}}, time.UTC
		}), steps: seq(reads(3*24*time.Hour, 1, v1)), want: []ctxguard.AnomalyRule{ctxguard.RuleOffHours}, detail: "read at Sat 10:00"},
		{name: "off hours: a night shift over midnight is in hours", rules: only(ctxguard.RuleOffHours, func(r *Rules) {
			r.OffHours.Hours, r.OffHours.Location = []Span{{22 * 60, 6 * 60}}, time.UTC
		}), steps: seq(reads(wed(23, 0), 1, v1), reads(wed(10, 0), 1, v1)), want: []ctxguard.AnomalyRule{ctxguard.RuleOffHours}, detail: "Wed 10:00"},
		{name: "off hours: in another zone", rules: only(ctxguard.RuleOffHours, func(r *Rules) {
			r.OffHours.Hours, r.OffHours.Location = []Span{{8 * 60, 18 * 60}}, time.FixedZone("UTC+9", 9*3600)
		}), steps: seq(reads(0, 1, v1)), want: []ctxguard.AnomalyRule{ctxguard.RuleOffHours}, detail: "Wed 19:00 UTC+9"},
		{name: "off hours quiet: working hours", rules: only(ctxguard.RuleOffHours, func(r *Rules) {
			r.OffHours.Hours, r.OffHours.Location = []Span{{8 * 60, 18 * 60}}, time.UTC
		}), steps: seq(reads(wed(8, 0), 50, v1), reads(wed(17, 0), 59, v1))},

		// first_seen: learning for an hour, then one server known.
		{name: "first seen: a new server after learning", rules: only(ctxguard.RuleFirstSeen, func(r *Rules) { r.FirstSeen.LearnFor = time.Hour }),
			steps: seq(newServer(0, "kb", "file:///kb/a.md"), newServer(2*time.Hour, "evil", "https://evil.example/x")),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleFirstSeen}, detail: `server "evil" seen for the first time`},
		{name: "first seen: a new prefix of a known server", rules: only(ctxguard.RuleFirstSeen, func(r *Rules) { r.FirstSeen.LearnFor = time.Hour }),
			steps: seq(newServer(0, "kb", "file:///kb/a.md"), newServer(2*time.Hour, "kb", "file:///kb/b.md"), newServer(2*time.Hour, "kb", "file:///other/x.md")),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleFirstSeen}, detail: `URI prefix "file:///other/" of server "kb"`},
		{name: "first seen quiet: while learning", rules: only(ctxguard.RuleFirstSeen, func(r *Rules) { r.FirstSeen.LearnFor = time.Hour }),
			steps: seq(newServer(0, "kb", "file:///kb/a.md"), newServer(30*time.Minute, "kb2", "file:///kb2/a.md"), newServer(40*time.Minute, "kb", "file:///x/a.md"))},
		{name: "first seen quiet: a new install learns its first server", rules: only(ctxguard.RuleFirstSeen, func(r *Rules) { r.FirstSeen.LearnFor = 0 }),
			steps: seq(newServer(0, "kb", "file:///kb/a.md"), newServer(time.Hour, "kb", "file:///kb/b.md"))},

		// size_jump: 4 times, by 8 KiB or more.
		{name: "size jump: grew", rules: only(ctxguard.RuleSizeJump, nil),
			steps: seq(sized(0, "small", 1000), sized(time.Hour, "large", 20000)),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleSizeJump}, detail: "grew from 1000 to 20000 bytes"},
		{name: "size jump: shrank", rules: only(ctxguard.RuleSizeJump, nil),
			steps: seq(sized(0, "large", 40000), sized(time.Hour, "small", 100)),
			want:  []ctxguard.AnomalyRule{ctxguard.RuleSizeJump}, detail: "shrank"},
		{name: "size jump quiet: edits", rules: only(ctxguard.RuleSizeJump, nil),
			steps: seq(sized(0, "a", 10000), sized(time.Hour, "b", 30000), sized(2*time.Hour, "c", 25000),
				step{3 * time.Hour, []Observation{doc("s1", b, "small", 100)}}, step{4 * time.Hour, []Observation{doc("s1", b, "x9", 900)}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rules.Check(); err != nil {
				t.Fatal(err)
			}
			hits, at := run(t, tc.rules, tc.steps)
			var got []ctxguard.AnomalyRule
			quarantined := 0
			for i, h := range hits {
				if h.Anomaly.Quarantine {
					quarantined++
				}
				if !h.Report {
					continue
				}
				got = append(got, h.Anomaly.Rule)
				t.Logf("step %d: %s %s: %s (observed %g, threshold %g, window %q)", at[i], h.Anomaly.Rule, h.Anomaly.Key, h.Anomaly.Detail,
					h.Anomaly.Observed, h.Anomaly.Threshold, h.Anomaly.Window)
				if tc.detail != "" && !strings.Contains(h.Anomaly.Detail, tc.detail) {
					t.Errorf("detail %q does not say %q", h.Anomaly.Detail, tc.detail)
				}
				if h.Anomaly.Severity.Rank() == 0 {
					t.Errorf("no severity: %+v", h.Anomaly)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("reported %v, want %v", got, tc.want)
			}
			if quarantined != tc.quarantined {
				t.Errorf("%d hits to quarantine, want %d", quarantined, tc.quarantined)
			}
		})
	}
}

// The defaults stay quiet on a normal working session: a new install, one
// knowledge base, its documents read again and again, a few of them edited
// a little, a long tool result.
func TestDefaultsQuietOnNormalSessions(t *testing.T) {
	var steps []step
	for day := range 3 {
		for i := range 200 {
			u := fmt.Sprintf("file:///kb/team%d/doc%d.md", i%4, i%25)
			content := "v1"
			if day > 0 && i%25 < 3 {
				content = fmt.Sprintf("v%d", day+1) // three documents edited each day
			}
			o := doc(fmt.Sprintf("session-%d-%d", day, i/50), u, content, int64(2000+day*100))
			steps = append(steps, step{time.Duration(day)*24*time.Hour + time.Duration(i)*2*time.Minute, []Observation{o}})
		}
		steps = append(steps, items(50, 4096, day))
	}
	hits, at := run(t, DefaultRules(), steps)
	for i, h := range hits {
		t.Errorf("step %d: %s fired: %s", at[i], h.Anomaly.Rule, h.Anomaly.Detail)
	}
}

func items(n int, size int64, day int) step {
	s := step{at: time.Duration(day)*24*time.Hour + 7*time.Hour}
	for i := range n {
		s.items = append(s.items, doc("tool-session", fmt.Sprintf("file:///kb/team0/doc%d.md", i%25), "v1", size))
		s.items[i].URI = ""
		s.items[i].Method = "tools/call"
	}
	return s
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		uri   string
		depth int
		want  string
	}{
		{"file:///kb/fin/q3.md", 1, "file:///kb/"},
		{"file:///kb/fin/q3.md", 2, "file:///kb/fin/"},
		{"file:///kb/fin/q3.md", 5, "file:///kb/fin/"},
		{"file:///kb/handbook.md", 1, "file:///kb/"},
		{"https://wiki.example.com/page", 1, "https://wiki.example.com/"},
		{"https://wiki.example.com", 1, "https://wiki.example.com/"},
		{"https://wiki.example.com/a/b?x=/y/z", 1, "https://wiki.example.com/a/"},
		{"note:abc/def", 1, "note:"},
		{"plain", 1, ""},
	}
	for _, tc := range tests {
		if got := Prefix(tc.uri, tc.depth); got != tc.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", tc.uri, tc.depth, got, tc.want)
		}
	}
}

func TestCounter(t *testing.T) {
	var c counter
	w := 12 * time.Hour
	for i := range 24 {
		c.add(t0.Add(time.Duration(i)*time.Hour), w, 1)
	}
	if n := c.sum(t0.Add(23*time.Hour), w); n < 11 || n > 12 {
		t.Fatalf("sum over the last 12h of hourly events = %d, want 12 (to within one bucket)", n)
	}
	if n := c.sum(t0.Add(100*time.Hour), w); n != 0 {
		t.Fatalf("sum long after = %d", n)
	}
	c.add(t0, w, 5) // replayed late, older than the window: dropped
	if n := c.sum(t0.Add(23*time.Hour), w); n > 12 {
		t.Fatalf("an event older than the window was counted: %d", n)
	}
	if n := c.sum(t0.Add(23*time.Hour), time.Hour); n != 0 {
		t.Fatalf("a counter read with another window = %d, want 0 (starts again)", n)
	}
}

func TestCheck(t *testing.T) {
	r := DefaultRules()
	if err := r.Check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	r.HotChange.MinReads = 0
	r.SizeJump.Ratio = 1
	r.OffHours.Enabled, r.OffHours.Hours = true, nil
	err := r.Check()
	for _, want := range []string{"anomaly.hot_change", "anomaly.size_jump", "anomaly.off_hours: hours"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to name %s", err, want)
		}
	}
}

// Content a content rule held stays held, as the same item, until a
// reviewer releases it or the document changes again; the access rules
// hold only what they fired on.
func TestHeldContent(t *testing.T) {
	d := New(DefaultRules(), nil)
	o := doc("s1", "file:///kb/a.md", "v2", 100)
	o.Time = t0
	d.Observe([]Observation{o})
	d.MarkHeld("kb", o.URI, o.SHA256, "ID1", ctxguard.RuleHotChange)
	d.MarkHeld("kb", "file:///kb/b.md", o.SHA256, "ID2", ctxguard.RuleBulkRead) // not sticky
	hits := d.Observe([]Observation{o})
	if len(hits) != 1 || hits[0].HeldID != "ID1" || hits[0].Report || !hits[0].Anomaly.Quarantine || hits[0].Anomaly.Rule != ctxguard.RuleHotChange {
		t.Fatalf("a read of held content: %+v", hits)
	}
	b := doc("s1", "file:///kb/b.md", "v2", 100)
	b.Time = t0
	if hits := d.Observe([]Observation{b}); hits != nil {
		t.Fatalf("a bulk read's hold was sticky: %+v", hits)
	}
	d.Released("kb", o.URI)
	if hits := d.Observe([]Observation{o}); hits != nil {
		t.Fatalf("released content: %+v", hits)
	}
	d.MarkHeld("kb", o.URI, o.SHA256, "ID3", ctxguard.RuleSizeJump)
	v3 := doc("s1", o.URI, "v3", 100)
	v3.Time = t0
	d.Observe([]Observation{v3})
	o.Time = t0
	for _, h := range d.Observe([]Observation{o}) { // back to v2: a change, judged again
		if h.HeldID != "" {
			t.Fatalf("held after the document changed again: %+v", h)
		}
	}
}

// Content held for review in another process (MarkHeld from its record)
// of a document this process never read: the next read is the document's
// first, not a change of it.
func TestHeldUnknownDocumentFirstReadIsNoChange(t *testing.T) {
	rules := DefaultRules()
	rules.ChangeBurst.Threshold = 2
	rules.FirstSeen.Enabled = false
	o := doc("s1", "file:///kb/a.md", "v1", 100<<10)
	o.Time = t0

	learned := New(rules, nil)
	learned.MarkHeld("kb", o.URI, o.SHA256, "ID1", ctxguard.RuleHotChange)
	learned.Learn(o)
	ds, srv := learned.docs[docKey{"kb", o.URI}], learned.servers["kb"]
	if n := ds.Changes.sum(t0, rules.HotChange.Window); n != 0 {
		t.Errorf("learned: the first read counts as %d change(s) of the document", n)
	}
	if n := srv.Changes.sum(t0, rules.ChangeBurst.Window); n != 0 {
		t.Errorf("learned: the first read counts as %d change(s) of the server", n)
	}

	live := New(rules, nil)
	live.MarkHeld("kb", o.URI, o.SHA256, "ID1", ctxguard.RuleHotChange)
	hits := live.Observe([]Observation{o})
	if len(hits) != 1 || hits[0].HeldID != "ID1" {
		t.Fatalf("observed: the first read of content held elsewhere: %+v, want it held as ID1 and nothing else", hits)
	}
	// A second document's first read is no burst of two changes either.
	p := doc("s1", "file:///kb/b.md", "v1", 100)
	p.Time = t0
	live.MarkHeld("kb", p.URI, p.SHA256, "ID2", ctxguard.RuleHotChange)
	if hits := live.Observe([]Observation{p}); len(hits) != 1 || hits[0].HeldID != "ID2" {
		t.Fatalf("observed: a second held document's first read: %+v", hits)
	}
}
