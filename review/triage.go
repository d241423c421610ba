// Package review is the reviewers' side of the quarantine: triage (release
// and reject, with a re-scan), the HTTP API, the embedded web UI, and the
// websocket hub that shows new and triaged items live.
package review

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/store"
)

// Rescan is what the current rules say of an item's content at release
// time, next to what they said when it was held.
type Rescan struct {
	// Done is false when the content could not be scanned again (binary,
	// or cut at the queue's bound).
	Done    bool
	Score   float64
	Verdict ctxguard.Verdict
	// Added and Removed are the rules that fire now and did not then, and
	// the other way round.
	Added, Removed []string
}

// Changed reports whether the current rules judge the content differently.
func (r *Rescan) Changed() bool { return len(r.Added) > 0 || len(r.Removed) > 0 }

func (r *Rescan) String() string {
	if !r.Done {
		return "not re-scanned (binary or truncated content)"
	}
	if !r.Changed() {
		return fmt.Sprintf("re-scanned with the current rules: unchanged (score %.2f)", r.Score)
	}
	var parts []string
	if len(r.Added) > 0 {
		parts = append(parts, "now also fires: "+strings.Join(r.Added, ", "))
	}
	if len(r.Removed) > 0 {
		parts = append(parts, "no longer fires: "+strings.Join(r.Removed, ", "))
	}
	return fmt.Sprintf("re-scanned with the current rules: CHANGED (score %.2f; %s)", r.Score, strings.Join(parts, "; "))
}

// Triage applies a reviewer's action to an item. A release first scans
// the content again with the current rules (when engine is not nil), so
// the reviewer learns whether a rule update changed the picture; the
// release goes ahead either way.
func Triage(ctx context.Context, q store.Quarantine, engine *detectors.Engine, id string, a ctxguard.ReviewAction) (*ctxguard.QuarantineItem, *Rescan, error) {
	var rs *Rescan
	if a.Action == "release" && engine != nil {
		it, err := q.Item(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if rs, err = rescan(engine, it); err != nil {
			return nil, nil, err
		}
		if rs.Changed() {
			a.Note = strings.TrimSpace(a.Note + " [" + rs.String() + "]")
		}
	}
	it, err := q.Review(ctx, id, a)
	return it, rs, err
}

func rescan(engine *detectors.Engine, it *ctxguard.QuarantineItem) (*Rescan, error) {
	if it.Binary || it.ContentTruncated {
		return &Rescan{}, nil
	}
	res, err := engine.Scan([]byte(it.Content), nil)
	if err != nil {
		return nil, fmt.Errorf("re-scan: %w", err)
	}
	then, now := ruleSet(it.Findings), ruleSet(res.Findings)
	rs := &Rescan{Done: true, Score: res.Score, Verdict: res.Verdict}
	for r := range now {
		if !then[r] {
			rs.Added = append(rs.Added, r)
		}
	}
	for r := range then {
		if !now[r] {
			rs.Removed = append(rs.Removed, r)
		}
	}
	slices.Sort(rs.Added)
	slices.Sort(rs.Removed)
	return rs, nil
}

func ruleSet(fs []ctxguard.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f.Detector+"."+f.Rule] = true
	}
	return m
}
