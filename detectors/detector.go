package detectors

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

// Document is what detectors read: the normalised view of one piece of
// content, and what is known about where it came from.
type Document struct {
	*normalize.Text
	// Tools are the names of the tools the server offers (from its
	// tools/list), for the tool-coercion detector.
	Tools []string
	// Depth is 0 for content as sent, 1 for content decoded once, and so on.
	Depth int
}

// Hit is a keyword of a detector found in Document.Norm.
type Hit struct {
	// Keyword indexes the detector's Keywords().
	Keyword    int
	Start, End int
}

// A Detector finds one family of attack. Detect must be safe for concurrent
// use, must not modify the document nor keep it (or slices of its Norm)
// after it returns — the engine reuses its buffers — and returns an error
// only when it failed, never because the content is bad. Findings' Start and End index
// Norm; the engine maps them to the original bytes.
type Detector interface {
	// ID names the detector in findings ("override", "exfiltration").
	ID() string
	Detect(doc *Document, hits []Hit) ([]ctxguard.Finding, error)
}

// Keyworded is a detector that only needs to run when one of its keywords
// occurs. The engine finds every detector's keywords in one pass and passes
// the hits to Detect; a Keyworded detector without hits is not run.
// Keywords are normalised (normalize.Phrase) before matching.
type Keyworded interface {
	Keywords() []string
}

// RuleInfo describes a rule, for reports (SARIF) and documentation.
type RuleInfo struct {
	ID          string
	Detector    string
	Description string
	Severity    ctxguard.Severity
}

// Documented is a detector that can describe its rules.
type Documented interface {
	RuleInfo() []RuleInfo
}
