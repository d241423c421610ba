package corpus_test

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/ctxguard/ctxguard/corpus"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
)

var updateBaseline = flag.Bool("update-baseline", false, "record the current figures in baseline.json")

// baseline is what the detectors achieved on the corpus when it was last
// recorded: recall (poisoned categories) and false-positive rate (clean
// categories) may not get worse.
type baseline struct {
	Recall     float64            `json:"recall"`
	FPR        float64            `json:"fpr"`
	Categories map[string]float64 `json:"categories"` // recall, or FPR for clean/ categories
}

// TestRegressionGuard evaluates the default detectors on the built-in
// corpus and fails when recall or the false-positive rate, overall or in
// any category, is worse than recorded in baseline.json. Improve, then
// record with: go test ./corpus -run RegressionGuard -update-baseline
func TestRegressionGuard(t *testing.T) {
	docs, err := corpus.Load(corpus.Files)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 500 {
		t.Fatalf("only %d documents in the corpus", len(docs))
	}
	e, err := defaults.Engine(detectors.Config{}, defaults.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tools := corpus.Tools(corpus.Files)
	r := corpus.Evaluate(docs, 0, func(d corpus.Doc) corpus.Outcome {
		res, err := e.Scan(d.Text, tools)
		return corpus.Outcome{Doc: d, Verdict: res.Verdict, Score: res.Score, Findings: res.Findings, Err: err}
	})
	if r.Overall.Errors > 0 {
		t.Fatalf("%d documents failed to scan", r.Overall.Errors)
	}
	got := baseline{Recall: r.Overall.Recall, FPR: r.Overall.FPR, Categories: map[string]float64{}}
	for _, k := range r.Categories() {
		m := r.ByCategory[k]
		if m.TP+m.FN > 0 {
			got.Categories[k] = m.Recall
		} else {
			got.Categories[k] = m.FPR
		}
	}
	t.Logf("recall %.3f, false-positive rate %.3f", got.Recall, got.FPR)
	if *updateBaseline {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile("baseline.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile("baseline.json")
	if err != nil {
		t.Fatal(err)
	}
	var want baseline
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	const slack = 1e-9
	if got.Recall < want.Recall-slack {
		t.Errorf("recall fell from %.3f to %.3f", want.Recall, got.Recall)
	}
	if got.FPR > want.FPR+slack {
		t.Errorf("false-positive rate rose from %.3f to %.3f", want.FPR, got.FPR)
	}
	for k, w := range want.Categories {
		g, ok := got.Categories[k]
		switch {
		case !ok:
			t.Errorf("category %s is gone from the corpus", k)
		case k[:6] == "clean/" && g > w+slack:
			t.Errorf("%s: false-positive rate rose from %.3f to %.3f", k, w, g)
		case k[:6] != "clean/" && g < w-slack:
			t.Errorf("%s: recall fell from %.3f to %.3f", k, w, g)
		}
	}
}
