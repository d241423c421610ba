// Package policy turns what the filter learned of an item (its baseline
// outcome, the detectors' score) into a decision, per server, method and
// URI prefix. The rules are data, read from the configuration file.
package policy

import (
	"fmt"
	"strings"

	"github.com/ctxguard/ctxguard"
)

// Mode says whether decisions are enforced.
type Mode string

// The modes.
const (
	// Enforce withholds what the policy holds or blocks.
	Enforce Mode = "enforce"
	// Monitor records and queues what the policy would hold, but forwards
	// the content: the mode to roll the guard out in.
	Monitor Mode = "monitor"
)

// Fail says what happens to a message when a stage fails on it.
type Fail string

// The failure stances.
const (
	// Closed withholds the message: the client gets an error.
	Closed Fail = "closed"
	// Open forwards the message as the server sent it.
	Open Fail = "open"
)

// Outcome names what an item's judgement can be: a baseline status, or
// the detectors' "suspicious" and "clean".
type Outcome string

// The detectors' outcomes; the baseline statuses are outcomes too.
const (
	Suspicious Outcome = "suspicious"
	Clean      Outcome = "clean"
)

// Outcomes lists every outcome a policy can name.
var Outcomes = []Outcome{Suspicious, Clean,
	Outcome(ctxguard.BaselineMatch), Outcome(ctxguard.BaselineDrifted), Outcome(ctxguard.BaselineUnsigned),
	Outcome(ctxguard.BaselineExpired), Outcome(ctxguard.BaselineRejected), Outcome(ctxguard.BaselinePinned), Outcome(ctxguard.BaselinePinMatch)}

// Settings are what a policy or one of its rules sets; nil and empty
// fields leave the setting to what comes before.
type Settings struct {
	Mode      Mode
	Fail      Fail
	Threshold *float64
	// On maps outcomes to decisions.
	On map[Outcome]ctxguard.Decision
	// Required is the least decision for anything but a signed match
	// under a prefix that requires a signature.
	Required ctxguard.Decision
	// FailToolCall withholds a held item of a tool result by failing the
	// whole call (an isError result) instead of replacing the item alone.
	FailToolCall *bool
}

// Rule applies its settings to the items it matches.
type Rule struct {
	// Server, Method and URIPrefix match when empty or equal (URIPrefix:
	// a prefix of the item's URI).
	Server, Method, URIPrefix string
	Settings
}

func (r *Rule) matches(server, method, uri string) bool {
	return (r.Server == "" || r.Server == server) && (r.Method == "" || r.Method == method) &&
		(r.URIPrefix == "" || strings.HasPrefix(uri, r.URIPrefix))
}

// Policy is the defaults and the rules, applied in order: each matching
// rule overrides what it sets, so general rules go first.
type Policy struct {
	Default Settings
	Rules   []Rule
}

// Effective is the policy for one item.
type Effective struct {
	Mode         Mode
	Fail         Fail
	Threshold    float64
	On           map[Outcome]ctxguard.Decision
	Required     ctxguard.Decision
	FailToolCall bool
}

// Defaults are the built-in settings: enforce, fail closed, threshold 0.5,
// suspicious and drifted content quarantined, expired or rejected
// manifests annotated, everything else passed; quarantine under a prefix
// that requires a signature.
func Defaults() Effective {
	return Effective{Mode: Enforce, Fail: Closed, Threshold: 0.5, Required: ctxguard.DecisionQuarantine, On: defaultOn}
}

// defaultOn is shared by every Effective that does not change it; apply
// copies it before a change.
var defaultOn = map[Outcome]ctxguard.Decision{
	Suspicious:                         ctxguard.DecisionQuarantine,
	Clean:                              ctxguard.DecisionPass,
	Outcome(ctxguard.BaselineMatch):    ctxguard.DecisionPass,
	Outcome(ctxguard.BaselineDrifted):  ctxguard.DecisionQuarantine,
	Outcome(ctxguard.BaselineUnsigned): ctxguard.DecisionPass,
	Outcome(ctxguard.BaselineExpired):  ctxguard.DecisionAnnotate,
	Outcome(ctxguard.BaselineRejected): ctxguard.DecisionAnnotate,
	Outcome(ctxguard.BaselinePinned):   ctxguard.DecisionPass,
	Outcome(ctxguard.BaselinePinMatch): ctxguard.DecisionPass,
}

// For returns the policy for an item of server, answering method, at uri.
func (p *Policy) For(server, method, uri string) Effective {
	e := Defaults()
	e.apply(&p.Default)
	for i := range p.Rules {
		if p.Rules[i].matches(server, method, uri) {
			e.apply(&p.Rules[i].Settings)
		}
	}
	return e
}

func (e *Effective) apply(s *Settings) {
	if s.Mode != "" {
		e.Mode = s.Mode
	}
	if s.Fail != "" {
		e.Fail = s.Fail
	}
	if s.Threshold != nil {
		e.Threshold = *s.Threshold
	}
	if s.Required != "" {
		e.Required = s.Required
	}
	if s.FailToolCall != nil {
		e.FailToolCall = *s.FailToolCall
	}
	if len(s.On) > 0 {
		on := make(map[Outcome]ctxguard.Decision, len(e.On))
		for k, v := range e.On {
			on[k] = v
		}
		for k, v := range s.On {
			on[k] = v
		}
		e.On = on
	}
}

// Decide returns the decision for a record: the strongest of what its
// baseline outcome and the detectors' score call for.
func (e *Effective) Decide(r *ctxguard.Record) ctxguard.Decision {
	d := ctxguard.DecisionPass
	if b := r.Baseline; b != nil {
		d = strongest(d, e.On[Outcome(b.Status)])
		if b.Required && b.Status != ctxguard.BaselineMatch {
			d = strongest(d, e.Required)
		}
	}
	if r.Verdict != "" {
		if r.Score >= e.Threshold {
			d = strongest(d, e.On[Suspicious])
		} else {
			d = strongest(d, e.On[Clean])
		}
	}
	return d
}

func strongest(a, b ctxguard.Decision) ctxguard.Decision {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// Check reports settings that are not what they could mean.
func (s *Settings) Check() error {
	if s.Mode != "" && s.Mode != Enforce && s.Mode != Monitor {
		return fmt.Errorf("mode %q: enforce or monitor", s.Mode)
	}
	if s.Fail != "" && s.Fail != Closed && s.Fail != Open {
		return fmt.Errorf("fail %q: closed or open", s.Fail)
	}
	if s.Threshold != nil && (*s.Threshold <= 0 || *s.Threshold > 1) {
		return fmt.Errorf("threshold %v: between 0 (exclusive) and 1", *s.Threshold)
	}
	if s.Required != "" {
		if _, ok := ctxguard.ParseDecision(string(s.Required)); !ok {
			return fmt.Errorf("required %q: pass, annotate, quarantine or block", s.Required)
		}
	}
	for k, v := range s.On {
		known := false
		for _, o := range Outcomes {
			known = known || o == k
		}
		if !known {
			return fmt.Errorf("on: %q is not an outcome (%s)", k, outcomeList())
		}
		if _, ok := ctxguard.ParseDecision(string(v)); !ok {
			return fmt.Errorf("on.%s: %q is not a decision (pass, annotate, quarantine, block)", k, v)
		}
	}
	return nil
}

func outcomeList() string {
	s := make([]string, len(Outcomes))
	for i, o := range Outcomes {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
