package filter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/anomaly"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/filtertest"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
)

// anomalyHarness is a filter with the detectors' stand-in, the decide
// stage over the store's queue and the anomaly stage, at a fixed time.
type anomalyHarness struct {
	*harness
	logs  *bytes.Buffer
	stage *filter.AnomalyStage
	id    int
}

func newAnomalyHarness(t *testing.T, rules anomaly.Rules, mode policy.Mode, hook *anomaly.Webhook) *anomalyHarness {
	return startAnomaly(newHarness(t), rules, mode, hook)
}

// restart is another process on the same store: a new detector, restored
// from it, and a new session.
func (h *anomalyHarness) restart(rules anomaly.Rules) *anomalyHarness {
	n := *h.harness
	n.s = filter.NewSession("kb", "stdio", fmt.Sprintf("sess-%p", &n))
	return startAnomaly(&n, rules, policy.Enforce, nil)
}

func startAnomaly(h *harness, rules anomaly.Rules, mode policy.Mode, hook *anomaly.Webhook) *anomalyHarness {
	t := h.t
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	pol := &policy.Policy{Default: policy.Settings{Mode: mode}}
	decide := &filter.DecideStage{Policy: pol, Queue: h.db, Logger: log}
	now := func() time.Time { return time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) }
	st := &filter.AnomalyStage{Detector: anomaly.New(rules, now), Records: h.db, Decide: decide, Logger: log, Webhook: hook}
	if err := st.Detector.Restore(h.ctx, h.db, h.db); err != nil {
		t.Fatal(err)
	}
	f, err := filter.New(filter.Options{Records: h.db, Logger: log, Policy: pol, Now: now,
		Inspectors: []filter.Stage{filtertest.Marker{Word: "EVIL"}, decide, st}})
	if err != nil {
		t.Fatal(err)
	}
	h.f = f
	return &anomalyHarness{harness: h, logs: logs, stage: st}
}

// read sends a resources/read of uri and the server's answer with text;
// it returns what the client got.
func (h *anomalyHarness) read(uri, text string) string {
	h.t.Helper()
	h.id++
	h.client(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":%q}}`, h.id, uri))
	out, _ := h.server(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"contents":[{"uri":%q,"mimeType":"text/markdown","text":%q}]}}`, h.id, uri, text))
	return out
}

func (h *anomalyHarness) anomalies() []*ctxguard.Record {
	var out []*ctxguard.Record
	for _, r := range h.records() {
		if r.Anomaly != nil {
			out = append(out, r)
		}
	}
	return out
}

func hotChangeRules(quarantine bool) anomaly.Rules {
	r := anomaly.DefaultRules()
	r.HotChange.MinReads, r.HotChange.Threshold, r.HotChange.Quarantine = 3, 3, quarantine
	return r
}

// A document read often that changes: an anomaly record, a log line, a
// webhook event and, with quarantine, the item held for review like a
// detector's hit; read again while in review, the same item.
func TestAnomalyStageQuarantinesAHotChange(t *testing.T) {
	var (
		mu     sync.Mutex
		events []map[string]any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		mu.Lock()
		events = append(events, v)
		mu.Unlock()
	}))
	defer srv.Close()
	hook, err := anomaly.NewWebhook(context.Background(), srv.URL, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newAnomalyHarness(t, hotChangeRules(true), policy.Enforce, hook)
	const uri = "file:///kb/payments.md"
	for range 3 {
		if out := h.read(uri, "Pay Acme to DE89 3704."); !strings.Contains(out, "DE89") {
			t.Fatalf("a normal read was changed: %s", out)
		}
	}
	if a := h.anomalies(); len(a) != 0 {
		t.Fatalf("anomalies on normal reads: %+v", a[0].Anomaly)
	}
	out := h.read(uri, "Pay Acme to DE02 1203.")
	if strings.Contains(out, "DE02") || !idPattern.MatchString(out) {
		t.Fatalf("the changed hot document was forwarded: %s", out)
	}
	if again := h.read(uri, "Pay Acme to DE02 1203."); idPattern.FindString(again) != idPattern.FindString(out) {
		t.Fatalf("read again while in review: %s, first %s", again, out)
	}

	as := h.anomalies()
	if len(as) != 1 {
		t.Fatalf("%d anomaly records, want 1", len(as))
	}
	a := as[0]
	if a.Kind != ctxguard.KindAnomaly || a.Message != "anomaly" || a.Anomaly.Rule != ctxguard.RuleHotChange || a.URI != uri ||
		a.Decision != ctxguard.DecisionQuarantine || a.QuarantineID == "" || !a.Anomaly.Quarantine || a.Anomaly.Observed != 3 {
		t.Fatalf("anomaly record %+v %+v", a, a.Anomaly)
	}
	var item *ctxguard.QuarantineItem
	if err := h.db.Items(h.ctx, store.ItemQuery{}, func(it *ctxguard.QuarantineItem) error { item = it; return nil }); err != nil {
		t.Fatal(err)
	}
	if item == nil || item.ID != a.QuarantineID || !item.Withheld || len(item.Reasons) != 1 || !strings.HasPrefix(item.Reasons[0], "anomaly: hot_change: ") ||
		item.Content != "Pay Acme to DE02 1203." || item.Record.Decision != ctxguard.DecisionQuarantine {
		t.Fatalf("queue item %+v", item)
	}
	if !strings.Contains(h.logs.String(), "anomaly: hot_change") || !strings.Contains(h.logs.String(), "quarantine_id="+a.QuarantineID) {
		t.Fatalf("no log line:\n%s", h.logs.String())
	}
	if strings.Contains(h.logs.String(), "DE02") {
		t.Fatalf("content in the log:\n%s", h.logs.String())
	}
	if err := hook.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0]["event"] != "anomaly" {
		t.Fatalf("webhook events %v", events)
	}
	rec := events[0]["record"].(map[string]any)
	if rec["anomaly"].(map[string]any)["rule"] != "hot_change" || rec["quarantine_id"] != a.QuarantineID || rec["seq"] != float64(a.Seq) {
		t.Fatalf("webhook record %v", rec)
	}
}

// Content a rule held stays held at its next reads, also in another
// process (which learns it from the anomaly's record), until a reviewer
// releases it.
func TestAnomalyHeldContentStaysHeld(t *testing.T) {
	h := newAnomalyHarness(t, hotChangeRules(true), policy.Enforce, nil)
	const uri = "file:///kb/a.md"
	for range 3 {
		h.read(uri, "one")
	}
	first := idPattern.FindString(h.read(uri, "two"))
	if first == "" {
		t.Fatal("the hot change was not held")
	}
	other := h.restart(hotChangeRules(true))
	if got := idPattern.FindString(other.read(uri, "two")); got != first {
		t.Fatalf("another process read the held content as %q, want %q", got, first)
	}
	if n, _ := h.db.Count(h.ctx, ""); n != 1 {
		t.Fatalf("%d items queued, want 1", n)
	}
	if _, err := h.db.Review(h.ctx, first[len("quarantine id "):], ctxguard.ReviewAction{Action: "release", Reviewer: "r", Scope: "uri"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*anomalyHarness{h, other} {
		if out := p.read(uri, "two"); !strings.Contains(out, `"text":"two"`) {
			t.Fatalf("released content withheld: %s", out)
		}
	}
	if as := h.anomalies(); len(as) != 1 {
		t.Fatalf("%d anomaly records, want the one change", len(as))
	}
}

// Without quarantine (the default) an anomaly is reported and the content
// passes byte for byte; in monitor mode a quarantining rule queues the
// item but forwards it.
func TestAnomalyStageReportsOnly(t *testing.T) {
	for _, tc := range []struct {
		name       string
		quarantine bool
		mode       policy.Mode
		queued     int
	}{{"report only", false, policy.Enforce, 0}, {"monitor mode", true, policy.Monitor, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAnomalyHarness(t, hotChangeRules(tc.quarantine), tc.mode, nil)
			for range 3 {
				h.read("file:///kb/a.md", "one")
			}
			if out := h.read("file:///kb/a.md", "two"); !strings.Contains(out, `"text":"two"`) {
				t.Fatalf("forwarded %s", out)
			}
			as := h.anomalies()
			if len(as) != 1 || as[0].Anomaly.Rule != ctxguard.RuleHotChange {
				t.Fatalf("anomalies %+v", as)
			}
			if n, _ := h.db.Count(h.ctx, ""); n != tc.queued {
				t.Fatalf("%d queued, want %d", n, tc.queued)
			}
		})
	}
}

// An item the detectors hold anyway is queued once, and the anomaly
// record names its item.
func TestAnomalyStageDoesNotQueueTwice(t *testing.T) {
	h := newAnomalyHarness(t, hotChangeRules(true), policy.Enforce, nil)
	for range 3 {
		h.read("file:///kb/a.md", "fine")
	}
	out := h.read("file:///kb/a.md", "EVIL now")
	if n, _ := h.db.Count(h.ctx, ""); n != 1 {
		t.Fatalf("%d items queued, want 1", n)
	}
	as := h.anomalies()
	if len(as) != 1 || as[0].QuarantineID != idPattern.FindString(out)[len("quarantine id "):] {
		t.Fatalf("anomaly %+v for %s", as, out)
	}
}

// BenchmarkAnomalyStage is the stage's cost per item on the hot path: a
// read of a known document that fires nothing (the common case), over 1000
// documents, all rules on (off_hours too).
func BenchmarkAnomalyStage(b *testing.B) {
	rules := anomaly.DefaultRules()
	// One session reading for ever would be a bulk read: measure the
	// common case, in which nothing fires.
	rules.BulkRead.SessionItems, rules.BulkRead.SessionBytes = 0, 0
	rules.OffHours.Enabled, rules.OffHours.Location = true, time.UTC
	d := anomaly.New(rules, nil)
	st := &filter.AnomalyStage{Detector: d}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	const docs = 1000
	exs := make([]*filter.Exchange, docs)
	for i := range exs {
		in := &filter.Inspection{Record: ctxguard.Record{Time: t0, Kind: ctxguard.KindText, Size: 4096,
			SHA256: fmt.Sprintf("%064x", i),
			Origin: ctxguard.Origin{Server: "kb", Session: "s", Message: "response", Method: "resources/read", URI: fmt.Sprintf("file:///kb/d%d.md", i)}}}
		exs[i] = &filter.Exchange{Units: []*filter.Unit{{Items: []*filter.Inspection{in}}}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ex := exs[i%docs]
		ex.Units[0].Items[0].Record.Time = t0.Add(time.Duration(i) * time.Millisecond)
		if err := st.Run(ctx, ex); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
