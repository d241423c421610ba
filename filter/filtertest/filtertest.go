// Package filtertest has stages for tests of what comes after the
// detectors (the decide stage, placeholders, transports, metrics).
package filtertest

import (
	"bytes"
	"context"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter"
)

// Marker judges every item in place of the detectors: suspicious, score 1,
// when its content holds Word; clean, score 0, when not.
type Marker struct{ Word string }

// Name implements filter.Stage.
func (m Marker) Name() string { return "marker" }

// Run implements filter.Stage.
func (m Marker) Run(_ context.Context, ex *filter.Exchange) error {
	for _, u := range ex.Units {
		for _, in := range u.Items {
			in.Record.Verdict, in.Record.Score = ctxguard.VerdictClean, 0
			if bytes.Contains(in.Item.Content, []byte(m.Word)) {
				in.Record.Verdict, in.Record.Score = ctxguard.VerdictSuspicious, 1
			}
		}
	}
	return nil
}
