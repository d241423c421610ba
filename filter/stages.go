package filter

import (
	"context"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/extract"
	"github.com/ctxguard/ctxguard/provenance"
	"github.com/ctxguard/ctxguard/store"
)

// extractStage finds the content of each message.
type extractStage struct{}

func (extractStage) Name() string { return "extract" }

func (extractStage) Run(_ context.Context, ex *Exchange) error {
	for _, u := range ex.Units {
		if u.Err != nil {
			continue
		}
		items, err := extract.Message(ex.Frame, u.Msg, u.Method)
		if err != nil {
			return err
		}
		u.Items = make([]*Inspection, len(items))
		for i := range items {
			u.Items[i] = &Inspection{Item: items[i]}
		}
	}
	return nil
}

// observeStage computes each item's checksums and provenance record.
type observeStage struct{ now func() time.Time }

func (s observeStage) Name() string { return "observe" }

func (s observeStage) Run(_ context.Context, ex *Exchange) error {
	now := s.now()
	for _, u := range ex.Units {
		for _, in := range u.Items {
			in.Record, in.Sums = provenance.Observe(&in.Item, &u.Origin, now)
			if u.Method == "resources/read" && in.Item.URI != "" && (in.Item.Kind == ctxguard.KindText || in.Item.Kind == ctxguard.KindBlob) {
				if note := ex.Session.readOf(in.Item.URI, in.Record.SHA256); note != "" {
					in.Record.Note = joinNote(in.Record.Note, note)
				}
			}
		}
	}
	return nil
}

// recordStage stores every record, durably, before anything is forwarded:
// a client never sees content whose provenance was not kept.
type recordStage struct{ records store.Records }

func (recordStage) Name() string { return "record" }

func (s recordStage) Run(ctx context.Context, ex *Exchange) error {
	var recs []*ctxguard.Record
	for _, u := range ex.Units {
		for _, in := range u.Items {
			recs = append(recs, &in.Record)
		}
	}
	return s.records.AppendRecords(ctx, recs)
}

// actStage decides what the client gets. Until the quarantine decides to
// withhold single items, that is the frame as it came, or errors for the
// messages a stage failed.
type actStage struct{}

func (actStage) Name() string { return "act" }

func (actStage) Run(context.Context, *Exchange) error { return nil }
