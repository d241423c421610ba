package phrases_test

import (
	"testing"

	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/phrases"
)

// Every rule's examples fire it and its counterexamples do not, each scanned
// on its own by an engine of all phrase families.
func TestRuleExamples(t *testing.T) {
	dets, err := phrases.Detectors(nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := detectors.NewEngine(detectors.Config{}, dets...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dets {
		for _, r := range d.(*detectors.PhraseDetector).Rules() {
			if len(r.Examples) == 0 {
				t.Errorf("%s has no examples", r.ID)
			}
			for _, ex := range r.Examples {
				if !fires(t, e, r.ID, ex) {
					t.Errorf("%s does not fire on its example %q", r.ID, ex)
				}
			}
			for _, ex := range r.Counterexamples {
				if fires(t, e, r.ID, ex) {
					t.Errorf("%s fires on its counterexample %q", r.ID, ex)
				}
			}
		}
	}
}

func fires(t *testing.T, e *detectors.Engine, rule, text string) bool {
	t.Helper()
	res, err := e.Scan([]byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}
