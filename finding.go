package ctxguard

// Severity says how strongly a finding indicates an attack.
type Severity string

// The severities, from weakest to strongest.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: low 1 … critical 4, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Finding is one thing a detector found in a piece of content. Start and
// End are byte offsets in the content as the server sent it (after JSON
// and base64 decoding), so a reviewer can be shown exactly what fired.
type Finding struct {
	Detector string   `json:"detector"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Start    int      `json:"start"`
	End      int      `json:"end"`
	// Note adds context: found in a hidden region, decoded from base64,
	// quoted as an example (and so weighted less).
	Note string `json:"note,omitempty"`
}

// Verdict is the detectors' judgement of a piece of content.
type Verdict string

// The verdicts.
const (
	VerdictClean      Verdict = "clean"
	VerdictSuspicious Verdict = "suspicious"
)
