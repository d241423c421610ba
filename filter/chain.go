package filter

import (
	"context"
)

// A Stage is one step of the filter chain. Run looks at the exchange's
// units and their items and adds what it concludes. It is called for one
// exchange at a time but for many exchanges concurrently. An error fails
// the whole exchange closed: its content is withheld.
type Stage interface {
	Name() string
	Run(ctx context.Context, ex *Exchange) error
}

// chain returns the stages, in the order they run. The order is the
// filter's design and is written down here only:
//
//	extract     the content items of each message that reaches the model
//	observe     checksums and provenance of each item
//	inspectors  what the options plug in: baselines, detectors, policy
//	record      the records, durably, before anything is forwarded
//	act         what the client gets: the frame, or the frame with withheld
//	            items replaced, or an error
func (f *Filter) chain() []Stage {
	stages := []Stage{extractStage{}, observeStage{now: f.now}}
	stages = append(stages, f.opts.Inspectors...)
	return append(stages, recordStage{f.opts.Records}, actStage{})
}
