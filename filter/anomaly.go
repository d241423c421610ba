package filter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/anomaly"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
)

// AnomalyStage runs the anomaly rules over every observed item. An anomaly
// is a record of its own (Kind and Message "anomaly"), stored with the
// exchange's records before anything is forwarded; a warning in the log;
// an event to the webhook, when there is one; and, where the rule's
// configuration says so, the item goes to the review queue as a detector's
// hit would. It runs after the decide stage, so that an item the policy
// holds anyway is not queued twice.
//
// The stage does no I/O for an item that fires nothing: the detector
// counts in memory, and Start's background task shares its state with
// other processes through the store.
type AnomalyStage struct {
	Detector *anomaly.Detector
	// Records stores the anomalies' own records.
	Records store.Records
	// Decide is the decide stage whose policy and queue hold the items a
	// rule quarantines; nil when nothing is held (anomalies are reported
	// only).
	Decide *DecideStage
	Logger *slog.Logger
	// Webhook, when set, gets each anomaly as {"event":"anomaly",
	// "record":{…}}.
	Webhook *anomaly.Webhook
}

// Start restores the detector's state from the store (the saved snapshot,
// then the records stored after it) and starts syncing it with the store
// every interval until ctx is done or the store is closed.
func (s *AnomalyStage) Start(ctx context.Context, st store.AnomalyState, every time.Duration) error {
	if err := s.Detector.Restore(ctx, st, s.Records); err != nil {
		return fmt.Errorf("anomaly: restore the detector's state: %w", err)
	}
	go s.Detector.Run(ctx, st, s.Records, every, s.Logger)
	return nil
}

// Name implements Stage.
func (s *AnomalyStage) Name() string { return "anomaly" }

// Run implements Stage.
func (s *AnomalyStage) Run(ctx context.Context, ex *Exchange) error {
	var (
		buf   [8]anomaly.Observation
		recs  []*ctxguard.Record
		hold  []*ctxguard.QuarantineItem
		inRec []*Inspection // the item of each anomaly record
		held  []heldContent
	)
	for _, u := range ex.Units {
		if len(u.Items) == 0 {
			continue
		}
		obs := buf[:0]
		for _, in := range u.Items {
			o, _ := anomaly.FromRecord(&in.Record)
			obs = append(obs, o)
		}
		hits := s.Detector.Observe(obs)
		for i := range hits {
			h := &hits[i]
			in := u.Items[h.Index]
			if h.Anomaly.Quarantine && u.Err == nil {
				it, err := s.quarantine(ctx, in, &h.Anomaly, h.HeldID, hold)
				if err != nil {
					return err
				}
				if it != nil {
					hold = append(hold, it)
				}
				if id := in.Record.QuarantineID; id != "" && in.Record.Decision == ctxguard.DecisionQuarantine {
					held = append(held, heldContent{in, h.Anomaly.Rule})
				}
			}
			if h.Report {
				recs = append(recs, anomalyRecord(&in.Record, h.Anomaly))
				inRec = append(inRec, in)
			}
		}
	}
	var holdErr error
	if len(hold) > 0 {
		holdErr = s.hold(ctx, ex, hold)
	}
	for _, hc := range held {
		if r := &hc.in.Record; r.QuarantineID != "" { // still held: the queue took it
			s.Detector.MarkHeld(r.Server, r.URI, r.SHA256, r.QuarantineID, hc.rule)
		}
	}
	if len(recs) == 0 {
		return holdErr
	}
	for i, r := range recs {
		// Name the item's decision and queue entry as they stand now.
		r.Decision, r.QuarantineID = inRec[i].Record.Decision, inRec[i].Record.QuarantineID
	}
	if err := s.Records.AppendRecords(ctx, recs); err != nil {
		return fmt.Errorf("anomaly: store the anomalies' records: %w", err)
	}
	for _, r := range recs {
		s.report(r)
	}
	return holdErr
}

// heldContent is an item a rule held, to be remembered once queued.
type heldContent struct {
	in   *Inspection
	rule ctxguard.AnomalyRule
}

// anomalyRecord is the record of an anomaly about the item of r.
func anomalyRecord(r *ctxguard.Record, a ctxguard.Anomaly) *ctxguard.Record {
	o := r.Origin
	o.Message = "anomaly"
	return &ctxguard.Record{Time: r.Time, Origin: o, Path: r.Path, Kind: ctxguard.KindAnomaly, MIMEType: r.MIMEType,
		Size: r.Size, SHA256: r.SHA256, XXHash64: r.XXHash64, Anomaly: &a}
}

// quarantine holds the item for review, as the decide stage would, and
// returns the queue entry to add (nil when the item is held already, was
// released by a reviewer, or there is no queue).
func (s *AnomalyStage) quarantine(ctx context.Context, in *Inspection, a *ctxguard.Anomaly, heldID string, pending []*ctxguard.QuarantineItem) (*ctxguard.QuarantineItem, error) {
	r := &in.Record
	reason := "anomaly: " + string(a.Rule) + ": " + a.Detail
	if r.Decision.Rank() >= ctxguard.DecisionQuarantine.Rank() {
		// Held already, maybe for another rule of this exchange: say
		// why once more.
		for _, it := range pending {
			if it.ID == r.QuarantineID {
				it.Reasons = append(it.Reasons, reason)
			}
		}
		return nil, nil
	}
	if s.Decide == nil {
		return nil, nil
	}
	eff := policy.Defaults()
	if s.Decide.Policy != nil {
		eff = s.Decide.Policy.For(r.Server, r.Method, r.URI)
	}
	if q := s.Decide.Queue; q != nil {
		st, id, err := q.ContentDecision(ctx, r.SHA256, r.URI)
		switch {
		case err != nil:
			// As in the decide stage: the failure stance decides.
			return nil, err
		case st == ctxguard.StatusReleased:
			r.Note = joinNote(r.Note, "anomaly "+string(a.Rule)+"; released by a reviewer (quarantine "+id+")")
			s.Detector.Released(r.Server, r.URI)
			return nil, nil
		case st == ctxguard.StatusRejected:
			r.QuarantineID = id
		case heldID != "":
			r.QuarantineID = heldID
		default:
			r.QuarantineID = s.Decide.heldBefore(r.SHA256, r.URI)
		}
	}
	r.Decision = ctxguard.DecisionQuarantine
	in.Withhold = eff.Mode == policy.Enforce
	in.FailCall = eff.FailToolCall
	r.Withheld = in.Withhold
	if r.QuarantineID != "" || s.Decide.Queue == nil {
		return nil, nil
	}
	it := s.Decide.queueItem(in, in.Withhold)
	it.Reasons = []string{reason}
	it.History[0].Note = "anomaly " + string(a.Rule)
	r.QuarantineID = it.ID
	return it, nil
}

// hold queues the items, as the decide stage does: before the records are
// stored and the placeholders forwarded.
func (s *AnomalyStage) hold(ctx context.Context, ex *Exchange, items []*ctxguard.QuarantineItem) error {
	for _, it := range items {
		it.Record = *recordOf(ex, it.ID)
	}
	if err := s.Decide.Queue.Hold(ctx, items); err != nil {
		for _, it := range items {
			if in := inspectionOf(ex, it.ID); in != nil {
				in.Withhold, in.Record.Withheld, in.Record.QuarantineID = false, false, ""
			}
		}
		return fmt.Errorf("quarantine: %w", err)
	}
	for _, it := range items {
		s.Decide.remember(it.SHA256, it.URI, it.ID)
	}
	return nil
}

// report logs an anomaly and sends it to the webhook.
func (s *AnomalyStage) report(r *ctxguard.Record) {
	a := r.Anomaly
	if s.Logger != nil {
		s.Logger.Warn("anomaly: "+string(a.Rule), "rule", a.Rule, "severity", a.Severity, "key", a.Key, "detail", a.Detail,
			"observed", a.Observed, "threshold", a.Threshold, "window", a.Window, "server", r.Server, "session", r.Session,
			"method", r.Method, "uri", r.URI, "tool", r.Tool, "sha256", r.SHA256, "record_seq", r.Seq,
			"decision", r.Decision, "quarantine_id", r.QuarantineID)
	}
	if s.Webhook != nil {
		s.Webhook.Send(anomalyEvent{Event: "anomaly", Record: r})
	}
}

// anomalyEvent is what the webhook gets.
type anomalyEvent struct {
	Event  string           `json:"event"`
	Record *ctxguard.Record `json:"record"`
}

var _ Stage = (*AnomalyStage)(nil)
