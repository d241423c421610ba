package detectors

import (
	"strings"

	"github.com/ctxguard/ctxguard"
)

// weights of the severities in the score.
var weights = map[ctxguard.Severity]float64{
	ctxguard.SeverityLow:      0.15,
	ctxguard.SeverityMedium:   0.35,
	ctxguard.SeverityHigh:     0.65,
	ctxguard.SeverityCritical: 0.9,
}

// quotedCap bounds what findings quoted as examples in a document about
// attacks add up to: below the default threshold, so that security training
// that quotes a dozen payloads is not itself flagged, while a quoted payload
// still adds to evidence outside the quotes.
const quotedCap = 0.3

// Score combines findings into one score in [0, 1]: the strongest finding
// of each rule counts once, weighted by severity, and the weights combine as
// a noisy-OR, 1 − Π(1 − w): independent pieces of evidence add up, none
// alone reaches 1. Findings quoted as examples in a document about attacks
// combine separately, capped at quotedCap, and then join the rest.
func Score(findings []ctxguard.Finding) float64 {
	best := map[string]float64{}
	bestQuoted := map[string]float64{}
	for _, f := range findings {
		w := weights[f.Severity]
		k := f.Detector + "/" + f.Rule
		m := best
		if strings.Contains(f.Note, NoteQuoted) || strings.Contains(f.Note, NoteLabel) {
			m = bestQuoted
		}
		if w > m[k] {
			m[k] = w
		}
	}
	noisyOr := func(ws map[string]float64, skip map[string]float64) float64 {
		miss := 1.0
		for k, w := range ws {
			if skip != nil && skip[k] >= w {
				continue // the same rule fired unquoted as strongly
			}
			miss *= 1 - w
		}
		return 1 - miss
	}
	plain := noisyOr(best, nil)
	q := min(noisyOr(bestQuoted, best), quotedCap)
	return 1 - (1-plain)*(1-q)
}
