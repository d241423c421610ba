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

// quotedFactor is how much a finding quoted as an example in a document
// about attacks weighs, relative to one that is not.
const quotedFactor = 1.0 / 3

// Score combines findings into one score in [0, 1]: the strongest finding
// of each rule counts once, weighted by severity (a third as much when
// quoted as an example), and the weights combine as a noisy-OR,
// 1 − Π(1 − w): independent pieces of evidence add up, none alone reaches 1.
func Score(findings []ctxguard.Finding) float64 {
	best := map[string]float64{}
	for _, f := range findings {
		w := weights[f.Severity]
		if strings.Contains(f.Note, NoteQuoted) {
			w *= quotedFactor
		}
		k := f.Detector + "/" + f.Rule
		if w > best[k] {
			best[k] = w
		}
	}
	miss := 1.0
	for _, w := range best {
		miss *= 1 - w
	}
	return 1 - miss
}
