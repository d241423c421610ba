package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/llm"
	"github.com/ctxguard/ctxguard/detectors/llm/llmtest"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/filtertest"
	"github.com/ctxguard/ctxguard/filter/metrics"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// The filter's counters follow what it processed, the queue's depth what it
// holds, and the LLM counters what the classifier asked.
func TestMetrics(t *testing.T) {
	db, err := bolt.Open(t.TempDir(), bolt.Options{Durability: store.Relaxed})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	m := metrics.NewFilter(reg)
	metrics.RegisterQueue(reg, db)
	pol := &policy.Policy{}
	f, err := filter.New(filter.Options{Records: db, Observe: m.Observe, Policy: pol,
		Inspectors: []filter.Stage{filtertest.Marker{Word: "EVIL"}, &filter.DecideStage{Policy: pol, Queue: db}}})
	if err != nil {
		t.Fatal(err)
	}
	s := filter.NewSession("kb", "stdio", "s")
	for i, text := range []string{"fine", "EVIL", "also fine"} {
		id := string(rune('1' + i))
		s.FromClient([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"resources/read","params":{"uri":"file:///a"}}`))
		f.Process(context.Background(), f.Correlate(s, []byte(`{"jsonrpc":"2.0","id":`+id+`,"result":{"contents":[{"uri":"file:///a","text":"`+text+`"}]}}`)))
	}
	want := `
# HELP ctxguard_items_total Content items observed, by kind, verdict (clean, suspicious, or none when not scanned) and decision.
# TYPE ctxguard_items_total counter
ctxguard_items_total{decision="pass",kind="text",verdict="clean"} 2
ctxguard_items_total{decision="quarantine",kind="text",verdict="suspicious"} 1
# HELP ctxguard_quarantine_items Items in the quarantine queue, by status.
# TYPE ctxguard_quarantine_items gauge
ctxguard_quarantine_items{status="pending"} 1
ctxguard_quarantine_items{status="rejected"} 0
ctxguard_quarantine_items{status="released"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ctxguard_items_total", "ctxguard_quarantine_items"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "ctxguard_filter_seconds"); n != 1 {
		t.Fatalf("latency histogram: %d series", n)
	}

	// The LLM's calls and tokens, from a real OpenAI-compatible endpoint.
	srv := llmtest.New(t, func(*llmtest.Request) llmtest.Reply { return llmtest.Answer("clean", 0.9, "") })
	cl, err := llm.New(llm.Config{URL: srv.URL, Model: "judge"})
	if err != nil {
		t.Fatal(err)
	}
	cas := &llm.Cascade{Classifier: cl, Always: true}
	metrics.RegisterLLM(reg, cas)
	cas.Judge(context.Background(), []byte("a document"), detectors.Result{Score: 0.3}, "")
	if v := value(t, reg, "ctxguard_llm_calls_total"); v != 1 {
		t.Fatalf("llm calls %v, want 1", v)
	}
	if v := value(t, reg, "ctxguard_llm_asked_total"); v != 1 {
		t.Fatalf("llm asked %v, want 1", v)
	}
}

// value is the value of the registered counter name.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.Metric[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
