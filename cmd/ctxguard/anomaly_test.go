package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

// anomalyRecords returns the anomaly records in the data directory.
func anomalyRecords(t *testing.T, data string) []*ctxguard.Record {
	t.Helper()
	var out []*ctxguard.Record
	for _, r := range readRecords(t, data) {
		if r.Anomaly != nil {
			out = append(out, r)
		}
	}
	return out
}

// Every client session over stdio is its own ctxguard process: a document
// read often across sessions that then changes is an anomaly in the next
// one — a record, a log line, a webhook event and, with quarantine on, an
// item in the review queue that a later session maps to as well. A new
// server is a first-seen anomaly; normal sessions stay quiet.
func TestWrapAnomalies(t *testing.T) {
	events := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		events <- v
	}))
	defer hook.Close()
	cfg := filepath.Join(t.TempDir(), "ctxguard.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
[anomaly.hot_change]
min_reads = 4
threshold = 4
quarantine = true
[anomaly.first_seen]
learn_for = "0s"
[anomaly.webhook]
url = %q
`, hook.URL+"/hooks/s3cr3t-token")), 0o600); err != nil {
		t.Fatal(err)
	}
	kb, _ := writeKB(t, map[string]string{"payments.md": "# Payments\n\nAcme Freight: IBAN DE89 3704 0044 0532 0130 00.\n",
		"handbook.md": sampleDocs["handbook.md"]})
	data := t.TempDir()
	session := func(name string) func(uri string) string {
		args := []string{"--config", cfg, "--data-dir", data, "--log-level", "warn", "wrap", "--name", name, "--", kbserverBin, "-dir", kb}
		cs := connect(t, exec.Command(ctxguardBin, args...))
		return func(uri string) string {
			t.Helper()
			res, err := read(t, cs, uri)
			if err != nil {
				t.Fatalf("read %s: %v", uri, err)
			}
			return res.Contents[0].Text
		}
	}
	const payments = "file:///kb/payments.md"

	// Two normal sessions: four reads of the document, one of another.
	for range 2 {
		s := session("kb")
		s(payments)
		s(payments)
		s("file:///kb/handbook.md")
	}
	if as := anomalyRecords(t, data); len(as) != 0 {
		t.Fatalf("normal sessions made anomalies: %+v", as[0].Anomaly)
	}

	// The document changes; the next session reads it.
	changed := "# Payments\n\nAcme Freight: IBAN DE02 1203 0000 0000 2020 51 (new bank).\n"
	if err := os.WriteFile(filepath.Join(kb, "payments.md"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	got := session("kb")(payments)
	if strings.Contains(got, "DE02") || !strings.Contains(got, "withheld for review") {
		t.Fatalf("the changed hot document reached the client: %q", got)
	}
	as := anomalyRecords(t, data)
	if len(as) != 1 {
		t.Fatalf("%d anomaly records, want 1", len(as))
	}
	a := as[0]
	if a.Anomaly.Rule != ctxguard.RuleHotChange || a.URI != payments || a.Kind != ctxguard.KindAnomaly || a.QuarantineID == "" ||
		a.Anomaly.Observed != 4 || a.Anomaly.Severity != ctxguard.SeverityHigh {
		t.Fatalf("anomaly record %+v: %+v", a, a.Anomaly)
	}
	t.Logf("anomaly: %s %s: %s", a.Anomaly.Rule, a.Anomaly.Key, a.Anomaly.Detail)
	if !strings.Contains(got, a.QuarantineID) {
		t.Fatalf("the placeholder %q does not name %s", got, a.QuarantineID)
	}
	items := queueItems(t, data)
	if len(items) != 1 || items[0].ID != a.QuarantineID || items[0].Status != ctxguard.StatusPending ||
		len(items[0].Reasons) != 1 || !strings.HasPrefix(items[0].Reasons[0], "anomaly: hot_change") {
		t.Fatalf("queue: %+v", items)
	}
	select {
	case ev := <-events:
		rec := ev["record"].(map[string]any)
		if ev["event"] != "anomaly" || rec["anomaly"].(map[string]any)["rule"] != "hot_change" || rec["quarantine_id"] != a.QuarantineID {
			t.Fatalf("webhook event %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook event")
	}

	// Another session (process) reads the held content: the same item.
	if again := session("kb")(payments); !strings.Contains(again, a.QuarantineID) {
		t.Fatalf("read again in a new session: %q", again)
	}
	if n := len(queueItems(t, data)); n != 1 {
		t.Fatalf("%d queue items, want still 1", n)
	}

	// Released, it passes.
	if code, _, errs := runMain(t, t.Context(), "--data-dir", data, "quarantine", "release", a.QuarantineID, "--reviewer", "r", "--note", "bank change confirmed"); code != 0 {
		t.Fatalf("release: %s", errs)
	}
	if txt := session("kb")(payments); txt != changed {
		t.Fatalf("released content: %q", txt)
	}

	// A server never seen before.
	session("wiki")("file:///kb/handbook.md")
	as = anomalyRecords(t, data)
	if len(as) != 2 || as[1].Anomaly.Rule != ctxguard.RuleFirstSeen || as[1].Anomaly.Key != "wiki" || as[1].QuarantineID != "" {
		t.Fatalf("after a new server: %d anomalies, last %+v", len(as), as[len(as)-1].Anomaly)
	}
	if n := len(queueItems(t, data)); n != 1 {
		t.Fatalf("first_seen (report only) queued an item: %d", n)
	}
	select {
	case ev := <-events:
		if ev["record"].(map[string]any)["anomaly"].(map[string]any)["rule"] != "first_seen" {
			t.Fatalf("second webhook event %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook event for first_seen")
	}
}
