package filter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
)

// DecideStage turns each item's baseline outcome and score into the
// policy's decision, and holds what must be reviewed in the quarantine
// queue before anything is forwarded. Content reviewers released passes;
// content they rejected is withheld wherever it shows up again.
type DecideStage struct {
	Policy *policy.Policy
	// Queue keeps held items and reviewers' decisions; nil when there is
	// no queue (held items are then recorded and logged only).
	Queue  store.Quarantine
	Logger *slog.Logger
	// MaxContent bounds the content kept with a queued item
	// (DefaultMaxQueuedContent when zero).
	MaxContent int
	// RejectedRefresh is how often the list of rejected content is read
	// again from the queue (DefaultRejectedRefresh when zero): a reviewer
	// may reject content in another process.
	RejectedRefresh time.Duration

	mu       sync.Mutex
	rejected map[string]string // SHA-256 → the item it was rejected on
	readAt   time.Time
	// held are the items this stage queued, by content and URI, so that
	// content read again while pending maps to its item (bounded: a
	// forgotten entry only costs a second item).
	held map[string]string
}

const maxHeld = 4096

// heldBefore returns the pending item this stage queued for the content at
// uri, or "".
func (s *DecideStage) heldBefore(sha, uri string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[sha+"\x00"+uri]
}

func (s *DecideStage) remember(sha, uri, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil || len(s.held) >= maxHeld {
		s.held = map[string]string{}
	}
	s.held[sha+"\x00"+uri] = id
}

// Defaults of the decide stage.
const (
	DefaultMaxQueuedContent = 256 << 10
	DefaultRejectedRefresh  = 500 * time.Millisecond
)

// Name implements Stage.
func (s *DecideStage) Name() string { return "decide" }

// Run implements Stage.
func (s *DecideStage) Run(ctx context.Context, ex *Exchange) error {
	rejected, err := s.rejectedContent(ctx)
	if err != nil {
		return err
	}
	var hold []*ctxguard.QuarantineItem
	for _, u := range ex.Units {
		if u.Err != nil {
			continue
		}
		for _, in := range u.Items {
			r := &in.Record
			eff := s.Policy.For(r.Server, r.Method, r.URI)
			if r.Verdict != "" {
				r.Verdict = ctxguard.VerdictClean
				if r.Score >= eff.Threshold {
					r.Verdict = ctxguard.VerdictSuspicious
				}
			}
			d := eff.Decide(r)
			if id, ok := rejected[r.SHA256]; ok && d.Rank() < ctxguard.DecisionQuarantine.Rank() {
				// Rejected once, withheld everywhere, without queueing
				// it again.
				d, r.QuarantineID = ctxguard.DecisionQuarantine, id
			}
			if d == ctxguard.DecisionQuarantine && r.QuarantineID == "" && s.Queue != nil {
				st, id, err := s.Queue.ContentDecision(ctx, r.SHA256, r.URI)
				if err != nil {
					return err
				}
				switch st {
				case ctxguard.StatusReleased:
					d, r.Note = ctxguard.DecisionPass, joinNote(r.Note, "released by a reviewer (quarantine "+id+")")
				case ctxguard.StatusRejected:
					r.QuarantineID = id
				default:
					// Read again while still in review: the same item, not
					// a new one for every read.
					r.QuarantineID = s.heldBefore(r.SHA256, r.URI)
				}
			}
			r.Decision = d
			switch d {
			case ctxguard.DecisionQuarantine:
				in.Withhold = eff.Mode == policy.Enforce
				in.FailCall = eff.FailToolCall
				r.Withheld = in.Withhold
				if r.QuarantineID == "" {
					it := s.queueItem(in, in.Withhold)
					r.QuarantineID = it.ID
					hold = append(hold, it)
				}
			case ctxguard.DecisionBlock:
				if eff.Mode == policy.Enforce && u.Err == nil {
					u.Err, u.ErrCode = errWithheld, ctxguard.CodeWithheld
					r.Withheld = true
				}
			}
			s.log(r, eff.Mode)
		}
	}
	if len(hold) > 0 && s.Queue != nil {
		// The items are queued before the records are stored and the
		// placeholders forwarded: a reviewer can always find what the
		// client was told is in review.
		for _, it := range hold {
			it.Record = *recordOf(ex, it.ID)
		}
		if err := s.Queue.Hold(ctx, hold); err != nil {
			// Not queued: no record may name the item, nor say it was
			// withheld for review; the failure stance decides what the
			// client gets.
			for _, it := range hold {
				if in := inspectionOf(ex, it.ID); in != nil {
					in.Withhold, in.Record.Withheld, in.Record.QuarantineID = false, false, ""
				}
			}
			return fmt.Errorf("quarantine: %w", err)
		}
		for _, it := range hold {
			s.remember(it.SHA256, it.URI, it.ID)
		}
	}
	return nil
}

// errWithheld tells the client, in generic words, that the guard withheld
// a response; what triggered it is in the guard's records, not here.
var errWithheld = errors.New("ctxguard: the response was withheld by the guard's policy")

// queueItem builds the queue entry of an item to hold.
func (s *DecideStage) queueItem(in *Inspection, withheld bool) *ctxguard.QuarantineItem {
	r := &in.Record
	var rnd [10]byte
	_, _ = rand.Read(rnd[:])
	it := &ctxguard.QuarantineItem{
		ID: ctxguard.NewQuarantineID(r.Time, rnd), Status: ctxguard.StatusPending, CreatedAt: r.Time,
		Server: r.Server, URI: r.URI, Tool: r.Tool, SHA256: r.SHA256, Score: r.Score, Findings: r.Findings,
		Reasons: reasons(r), Withheld: withheld, ContentSize: r.Size, Binary: in.Item.Binary,
		History: []ctxguard.ReviewAction{{Action: "quarantine", At: r.Time, Note: fmt.Sprintf("decision %s", r.Decision)}},
	}
	if it.Findings == nil {
		it.Findings = []ctxguard.Finding{}
	}
	if !in.Item.Binary {
		max := s.MaxContent
		if max <= 0 {
			max = DefaultMaxQueuedContent
		}
		c := in.Item.Content
		if len(c) > max {
			cut := max
			for cut > 0 && !utf8.RuneStart(c[cut]) {
				cut--
			}
			c, it.ContentTruncated = c[:cut], true
		}
		it.Content = string(c)
	}
	return it
}

// recordOf returns the record of the held item id in the exchange.
func recordOf(ex *Exchange, id string) *ctxguard.Record {
	if in := inspectionOf(ex, id); in != nil {
		return &in.Record
	}
	return &ctxguard.Record{}
}

// inspectionOf returns the inspection of the held item id in the exchange.
func inspectionOf(ex *Exchange, id string) *Inspection {
	for _, u := range ex.Units {
		for _, in := range u.Items {
			if in.Record.QuarantineID == id {
				return in
			}
		}
	}
	return nil
}

// reasons says why an item was held, for the reviewer.
func reasons(r *ctxguard.Record) []string {
	var out []string
	if r.Verdict == ctxguard.VerdictSuspicious {
		out = append(out, fmt.Sprintf("detectors: score %.2f, %d finding(s)", r.Score, len(r.Findings)))
	}
	if b := r.Baseline; b != nil && b.Status != ctxguard.BaselineMatch && b.Status != ctxguard.BaselinePinMatch && b.Status != ctxguard.BaselinePinned {
		s := "baseline: " + string(b.Status)
		if b.Required {
			s += " under a prefix that requires a signature"
		}
		if b.Manifest != "" {
			s += fmt.Sprintf(" (%s #%d)", b.Manifest, b.Sequence)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		out = append(out, "policy")
	}
	return out
}

// rejectedContent returns the rejected content hashes, read again from the
// queue when the last read is older than the refresh interval.
func (s *DecideStage) rejectedContent(ctx context.Context) (map[string]string, error) {
	if s.Queue == nil {
		return nil, nil
	}
	every := s.RejectedRefresh
	if every <= 0 {
		every = DefaultRejectedRefresh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejected != nil && time.Since(s.readAt) < every {
		return s.rejected, nil
	}
	m, _, err := s.Queue.RejectedContent(ctx)
	if err != nil {
		return nil, err
	}
	s.rejected, s.readAt = m, time.Now()
	return m, nil
}

func (s *DecideStage) log(r *ctxguard.Record, mode policy.Mode) {
	if s.Logger == nil || r.Decision.Rank() <= ctxguard.DecisionPass.Rank() {
		return
	}
	msg := "policy: " + string(r.Decision)
	if r.Decision == ctxguard.DecisionQuarantine {
		msg = "policy: held for review"
	}
	if mode == policy.Monitor {
		msg += " (monitor mode: forwarded)"
	}
	attrs := []any{"server", r.Server, "method", r.Method, "uri", r.URI, "tool", r.Tool, "decision", r.Decision,
		"quarantine_id", r.QuarantineID, "sha256", r.SHA256, "score", r.Score, "findings", len(r.Findings)}
	if b := r.Baseline; b != nil {
		attrs = append(attrs, "baseline", b.Status, "manifest", b.Manifest, "expected_sha256", b.ExpectedSHA256, "reason", b.Reason)
	}
	s.Logger.Warn(msg, attrs...)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
