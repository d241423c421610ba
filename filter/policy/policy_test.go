package policy

import (
	"testing"

	"github.com/ctxguard/ctxguard"
)

func ptr[T any](v T) *T { return &v }

func TestFor(t *testing.T) {
	p := &Policy{
		Default: Settings{Threshold: ptr(0.6)},
		Rules: []Rule{
			{Server: "wiki", Settings: Settings{Mode: Monitor}},
			{Server: "wiki", Method: "tools/call", Settings: Settings{Fail: Open, FailToolCall: ptr(true)}},
			{URIPrefix: "file:///kb/legal/", Settings: Settings{Threshold: ptr(0.3), On: map[Outcome]ctxguard.Decision{Suspicious: ctxguard.DecisionBlock}}},
		},
	}
	tests := []struct {
		server, method, uri string
		mode                Mode
		fail                Fail
		threshold           float64
		suspicious          ctxguard.Decision
		failCall            bool
	}{
		{"kb", "resources/read", "file:///kb/a.md", Enforce, Closed, 0.6, ctxguard.DecisionQuarantine, false},
		{"wiki", "resources/read", "", Monitor, Closed, 0.6, ctxguard.DecisionQuarantine, false},
		{"wiki", "tools/call", "", Monitor, Open, 0.6, ctxguard.DecisionQuarantine, true},
		{"kb", "resources/read", "file:///kb/legal/nda.md", Enforce, Closed, 0.3, ctxguard.DecisionBlock, false},
		{"wiki", "tools/call", "file:///kb/legal/x", Monitor, Open, 0.3, ctxguard.DecisionBlock, true},
	}
	for _, tt := range tests {
		e := p.For(tt.server, tt.method, tt.uri)
		if e.Mode != tt.mode || e.Fail != tt.fail || e.Threshold != tt.threshold || e.On[Suspicious] != tt.suspicious || e.FailToolCall != tt.failCall {
			t.Errorf("For(%s, %s, %s) = %+v", tt.server, tt.method, tt.uri, e)
		}
	}
	// A rule's decisions do not leak into the defaults.
	if d := Defaults(); d.On[Suspicious] != ctxguard.DecisionQuarantine {
		t.Fatalf("defaults changed: %v", d.On[Suspicious])
	}
}

func TestDecide(t *testing.T) {
	e := Defaults()
	bl := func(st ctxguard.BaselineStatus, required bool) *ctxguard.Baseline {
		return &ctxguard.Baseline{Status: st, Required: required}
	}
	tests := []struct {
		name string
		r    ctxguard.Record
		want ctxguard.Decision
	}{
		{"not judged", ctxguard.Record{}, ctxguard.DecisionPass},
		{"clean", ctxguard.Record{Verdict: ctxguard.VerdictClean, Score: 0.2}, ctxguard.DecisionPass},
		{"score at the threshold", ctxguard.Record{Verdict: ctxguard.VerdictClean, Score: 0.5}, ctxguard.DecisionQuarantine},
		{"signed match", ctxguard.Record{Baseline: bl(ctxguard.BaselineMatch, true)}, ctxguard.DecisionPass},
		{"drifted", ctxguard.Record{Baseline: bl(ctxguard.BaselineDrifted, false)}, ctxguard.DecisionQuarantine},
		{"unsigned", ctxguard.Record{Baseline: bl(ctxguard.BaselineUnsigned, false)}, ctxguard.DecisionPass},
		{"unsigned, required", ctxguard.Record{Baseline: bl(ctxguard.BaselineUnsigned, true)}, ctxguard.DecisionQuarantine},
		{"expired", ctxguard.Record{Baseline: bl(ctxguard.BaselineExpired, false)}, ctxguard.DecisionAnnotate},
		{"signed match but suspicious", ctxguard.Record{Baseline: bl(ctxguard.BaselineMatch, true), Verdict: ctxguard.VerdictSuspicious, Score: 0.9}, ctxguard.DecisionQuarantine},
	}
	for _, tt := range tests {
		if got := e.Decide(&tt.r); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	bad := []Settings{
		{Mode: "audit"},
		{Fail: "maybe"},
		{Threshold: ptr(0.0)},
		{Threshold: ptr(1.5)},
		{Required: "hold"},
		{On: map[Outcome]ctxguard.Decision{"weird": ctxguard.DecisionPass}},
		{On: map[Outcome]ctxguard.Decision{Suspicious: "drop"}},
	}
	for _, s := range bad {
		if err := s.Check(); err == nil {
			t.Errorf("Check(%+v) accepted", s)
		}
	}
	good := Settings{Mode: Monitor, Fail: Open, Threshold: ptr(1.0), On: map[Outcome]ctxguard.Decision{Outcome(ctxguard.BaselineDrifted): ctxguard.DecisionBlock}}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
}
