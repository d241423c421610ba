package llm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// Fail is what the cascade does when the classifier gives no judgement.
type Fail string

// The failure stances.
const (
	// FailOpen keeps the detectors' verdict (the default): the LLM is an
	// optional second opinion.
	FailOpen Fail = "open"
	// FailClosed holds the document as suspicious (score 1), so that
	// nothing the LLM was to judge passes unjudged.
	FailClosed Fail = "closed"
)

// The default grey band, [DefaultLow, DefaultHigh): the detectors' scores
// at which the LLM is asked. Below 0.2 the detectors found nothing, or one
// low-severity hint (0.15), which is not worth a call on every clean
// document. From 0.6 on they found at least one high-severity finding
// (0.65) or several medium ones, which decides on its own: a judge that
// reads the very document it judges can be talked into "clean", so it may
// not overrule strong evidence. In between (one or two low or medium
// findings, or quoted examples) the heuristics are least sure, and the LLM
// confirms or clears.
const (
	DefaultLow  = 0.2
	DefaultHigh = 0.6
)

// Detector and Rule name the classifier's finding.
const (
	Detector = "llm"
	Rule     = "injection"
)

// RuleInfo describes the classifier's finding, for reports (SARIF).
func RuleInfo() detectors.RuleInfo {
	return detectors.RuleInfo{ID: Detector + "." + Rule, Detector: Detector, Severity: ctxguard.SeverityHigh,
		Description: "The LLM classifier judged the document a prompt injection; the span is the sentence it quoted (or the part it was shown, when the quote is not in the document)."}
}

// Cascade puts the classifier behind the detectors: it asks the model about
// a document only when the detectors' score is in the grey band [Low, High),
// or always when told to (Always, or a URI under AlwaysPrefixes), and
// combines the answer with the score (Combine). It is safe for concurrent
// use.
type Cascade struct {
	Classifier *Classifier
	// Low and High bound the grey band (DefaultLow, DefaultHigh when both
	// are zero).
	Low, High float64
	// Always asks about every document; AlwaysPrefixes about every
	// document whose URI starts with one of them.
	Always         bool
	AlwaysPrefixes []string
	// Fail is the stance when the classifier fails (FailOpen when empty).
	Fail Fail
	// Threshold is the score at which a document is suspicious (0.5 when
	// zero), for the verdict of the combined result.
	Threshold float64

	considered, asked, failed, changed atomic.Int64
}

// CascadeCounters count what a cascade did.
type CascadeCounters struct {
	// Considered are the documents the cascade saw; Asked those it asked
	// the classifier about (from its cache or not); Failed those the
	// classifier gave no judgement for; Changed those whose verdict the
	// judgement changed.
	Considered, Asked, Failed, Changed int64
}

// Stats returns what the cascade has done so far.
func (c *Cascade) Stats() CascadeCounters {
	return CascadeCounters{Considered: c.considered.Load(), Asked: c.asked.Load(), Failed: c.failed.Load(), Changed: c.changed.Load()}
}

// Band returns the grey band, [low, high).
func (c *Cascade) Band() (low, high float64) {
	if c.Low == 0 && c.High == 0 {
		return DefaultLow, DefaultHigh
	}
	return c.Low, c.High
}

// InBand reports whether a detectors' score is in the grey band. A High
// of 1 or more takes in every score from Low.
func (c *Cascade) InBand(score float64) bool {
	lo, hi := c.Band()
	return score >= lo && (score < hi || hi >= 1)
}

// Wants reports whether the cascade asks the model about a document with
// this detectors' score, at this URI.
func (c *Cascade) Wants(score float64, uri string) bool {
	if c.Always || c.InBand(score) {
		return true
	}
	for _, p := range c.AlwaysPrefixes {
		if uri != "" && strings.HasPrefix(uri, p) {
			return true
		}
	}
	return false
}

// Judge is the cascade's judgement of content the detectors scored res,
// found at uri (if any). When the model is not asked, it returns res and
// nil. Otherwise it returns the combined result and what the model said
// (or why it said nothing) for the record: with a judgement, the score is
// Combine's and an injection adds a finding of detector "llm", rule
// "injection"; without one, fail open keeps res and fail closed makes the
// document suspicious with score 1.
func (c *Cascade) Judge(ctx context.Context, content []byte, res detectors.Result, uri string) (detectors.Result, *ctxguard.LLMJudgement) {
	c.considered.Add(1)
	if !c.Wants(res.Score, uri) {
		return res, nil
	}
	c.asked.Add(1)
	rec := &ctxguard.LLMJudgement{Model: c.Classifier.Model(), HeuristicScore: res.Score}
	j, err := c.Classifier.Classify(ctx, content)
	if err != nil {
		c.failed.Add(1)
		rec.Error = err.Error()
		if c.Fail == FailClosed {
			out := detectors.Result{Score: 1, Verdict: ctxguard.VerdictSuspicious, Findings: res.Findings}
			if res.Verdict != out.Verdict {
				c.changed.Add(1)
			}
			return out, rec
		}
		return res, rec
	}
	rec.Label, rec.Confidence, rec.EvidenceFound, rec.Cached = string(j.Label), j.Confidence, j.Found, j.Cached
	rec.Tokens, rec.Calls = j.PromptTokens+j.CompletionTokens, j.Chunks
	out := detectors.Result{Score: Combine(res.Score, j, c.InBand(res.Score)), Findings: res.Findings}
	if j.Label == LabelInjection {
		out.Findings = append(slices.Clip(res.Findings), Finding(j))
		slices.SortStableFunc(out.Findings, func(a, b ctxguard.Finding) int {
			if a.Start != b.Start {
				return a.Start - b.Start
			}
			return a.End - b.End
		})
	}
	th := c.Threshold
	if th <= 0 {
		th = 0.5
	}
	out.Verdict = ctxguard.VerdictClean
	if out.Score >= th {
		out.Verdict = ctxguard.VerdictSuspicious
	}
	if out.Verdict != res.Verdict {
		c.changed.Add(1)
	}
	return out, rec
}

// Combine joins the detectors' score h with the model's judgement j.
//
// An injection adds up with the detectors' evidence as their findings add
// up among themselves, as a noisy-OR: 1 − (1 − h)(1 − confidence). The
// model is one more independent detector, and may raise a score anywhere
// it was asked.
//
// A clean answer lowers the score only in the grey band (inBand), and
// only halfway: the score becomes the mean of h and the model's
// probability of an injection (1 − confidence), never more than h. At the
// default threshold of 0.5, a clean answer clears a suspicious document
// exactly when its confidence exceeds the detectors' score: a sure "clean"
// (0.95) takes two medium findings (0.58) to 0.31, a hesitant one (0.55)
// leaves them at 0.51. Outside the band, where the operator asked for
// every document, a clean answer leaves h as it is: the judge reads the
// document it judges and can be talked into "clean", so it never
// overrules strong evidence.
func Combine(h float64, j Judgement, inBand bool) float64 {
	if j.Label == LabelInjection {
		return 1 - (1-h)*(1-j.Confidence)
	}
	if !inBand {
		return h
	}
	return min(h, (h+1-j.Confidence)/2)
}

// Finding is the finding an injection judgement adds: detector "llm", rule
// "injection", spanning the quoted sentence (or, when the quote is not in
// the document, the part the model was shown), with a severity from the
// confidence: critical from 0.9, high from 0.7, medium from 0.5, low below.
func Finding(j Judgement) ctxguard.Finding {
	sev := ctxguard.SeverityLow
	switch {
	case j.Confidence >= 0.9:
		sev = ctxguard.SeverityCritical
	case j.Confidence >= 0.7:
		sev = ctxguard.SeverityHigh
	case j.Confidence >= 0.5:
		sev = ctxguard.SeverityMedium
	}
	note := fmt.Sprintf("%s: confidence %.2f", j.Model, j.Confidence)
	if !j.Found {
		note += "; the quoted sentence is not in the document: the span is the part the model was shown"
	}
	return ctxguard.Finding{Detector: Detector, Rule: Rule, Severity: sev, Start: j.Start, End: j.End, Note: note}
}
