package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/extract"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/provenance"
	"github.com/ctxguard/ctxguard/store"
)

// Options configure a Filter.
type Options struct {
	// Records stores the provenance records. Required.
	Records store.Records
	// Inspectors are the stages that judge observed items (baselines,
	// detectors, policy). They run after observe and before record.
	Inspectors []Stage
	// Logger receives the filter's logs. Content is never logged.
	Logger *slog.Logger
	// Policy says, per server and method, whether a message a stage
	// failed on is withheld (fail closed, the default) or forwarded.
	Policy *policy.Policy
	// Now returns the time; time.Now when nil.
	Now func() time.Time
	// Observe, when set, is told of each processed exchange and how long
	// the filter's chain took on it (for metrics).
	Observe func(ex *Exchange, took time.Duration)
}

// Filter runs server frames through the chain. It is safe for concurrent
// use; one Filter serves any number of sessions.
type Filter struct {
	opts   Options
	log    *slog.Logger
	stages []Stage
}

// New returns a Filter.
func New(opts Options) (*Filter, error) {
	if opts.Records == nil {
		return nil, errors.New("filter: no record store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Filter{opts: opts, log: opts.Logger}
	f.stages = f.chain()
	return f, nil
}

func (f *Filter) now() time.Time {
	if f.opts.Now != nil {
		return f.opts.Now()
	}
	return time.Now()
}

// Correlate reads a frame the server sent and matches each response to the
// request it answers. It is cheap and must be called in the order frames
// arrive; Process, the expensive part, may then run concurrently.
func (f *Filter) Correlate(s *Session, frame []byte) *Exchange {
	ex := &Exchange{Session: s, Frame: frame}
	parsed, err := jsonrpc.Parse(frame)
	if err != nil {
		ex.Withheld, ex.Reason = true, err.Error()
		return ex
	}
	for _, m := range parsed.Messages {
		u := &Unit{Msg: m}
		id := m.ID.Of(frame)
		switch m.Kind {
		case jsonrpc.Response:
			u.Request = s.take(id)
			if u.Request != nil {
				u.Method = u.Request.ReadAs
				s.answered(frame, m, u.Request)
			} else {
				f.log.Warn("response to an unknown request id: inspecting all of its strings", "server", s.Server, "id_bytes", len(id))
			}
		case jsonrpc.Request, jsonrpc.Notification:
			u.Method = m.Method
			if m.Method == "notifications/resources/updated" {
				if q, err := extract.ReadRequest(frame, m); err == nil && q.URI != "" {
					s.markUpdated(q.URI)
				}
			}
		}
		if m.Ambiguous {
			// Take the request off the table all the same, so that the
			// client gets an answer from the filter.
			if u.Request == nil && m.ID.Present() {
				u.Request = s.take(id)
			}
			u.Err, u.ErrCode = errAmbiguous, ctxguard.CodeAmbiguousMessage
		}
		u.Origin = s.origin(m.Kind, u.Method, id, u.Request)
		if u.Request != nil && m.Kind == jsonrpc.Response {
			u.Origin.Method = u.Request.Method
		}
		ex.Units = append(ex.Units, u)
	}
	return ex
}

var errAmbiguous = errors.New("ctxguard: the server's message could be read in more than one way and was withheld")

// Oversize accounts for a frame from the server that exceeded the size
// limit: it is recorded by its checksum, and the request it answered, when
// it can be identified, is answered with an error.
func (f *Filter) Oversize(ctx context.Context, s *Session, e *jsonrpc.OversizeError) (reply []byte) {
	id, _ := jsonrpc.RecoverID(e.Head, e.Tail)
	r := s.take(id)
	o := s.origin(jsonrpc.Response, "", id, r)
	if r != nil {
		o.Method = r.Method
	} else {
		o.Message = "unknown"
	}
	rec := &ctxguard.Record{Time: f.now().UTC(), Origin: o, Path: "", Kind: ctxguard.KindOversize,
		Size: e.Size, SHA256: e.SHA256, Note: e.Error() + "; withheld"}
	if err := f.opts.Records.AppendRecords(ctx, []*ctxguard.Record{rec}); err != nil {
		f.log.Error("could not record a withheld oversize message", "server", s.Server, "err", err)
	}
	f.log.Warn("withheld an oversize message from the server", "server", s.Server, "bytes", e.Size, "limit", e.Limit, "sha256", e.SHA256, "answered", r != nil)
	if r == nil {
		return nil
	}
	return jsonrpc.ErrorResponse(r.ID, ctxguard.CodeMessageTooLarge,
		fmt.Sprintf("ctxguard: the server's response (%d bytes) exceeds the filter's %d-byte limit and was withheld", e.Size, e.Limit))
}

// Process runs an exchange through the chain and returns what to forward
// to the client (nil: nothing) and what the filter owes the server (error
// replies to server requests it withheld).
func (f *Filter) Process(ctx context.Context, ex *Exchange) (toClient []byte, toServer [][]byte) {
	if ex.Withheld {
		f.withheldFrame(ctx, ex)
		return nil, nil
	}
	start := time.Now()
	for i, st := range f.stages {
		if err := f.run(ctx, st, ex); err != nil {
			if !f.failed(ex, st, err) {
				f.recordWithheld(ctx, ex, i)
				break
			}
		}
	}
	if f.opts.Observe != nil {
		f.opts.Observe(ex, time.Since(start))
	}
	return assemble(ex)
}

// failed applies each message's failure stance after stage st failed:
// closed withholds the message (the client gets an error), open forwards it
// as the server sent it. It reports whether any message goes on, so that
// the remaining stages (the record) still run for it.
func (f *Filter) failed(ex *Exchange, st Stage, err error) (goOn bool) {
	for _, u := range ex.Units {
		if u.Err != nil {
			continue
		}
		if f.opts.Policy != nil {
			if eff := f.opts.Policy.For(u.Origin.Server, u.Origin.Method, u.Origin.URI); eff.Fail == policy.Open {
				f.log.Error("filter stage failed: forwarding the message unchecked (fail open)", "stage", st.Name(),
					"server", ex.Session.Server, "method", u.Origin.Method, "err", err)
				for _, in := range u.Items {
					in.Withhold, in.Record.Withheld = false, false
					in.Record.Note = joinNote(in.Record.Note, "stage "+st.Name()+" failed; forwarded unchecked (fail open)")
				}
				goOn = true
				continue
			}
		}
		f.log.Error("filter stage failed: withholding the message", "stage", st.Name(), "server", ex.Session.Server, "method", u.Origin.Method, "err", err)
		u.Err, u.ErrCode = fmt.Errorf("ctxguard: the response could not be inspected (%s) and was withheld", st.Name()), ctxguard.CodeFilterFailed
	}
	return goOn
}

// recordWithheld stores the records of a frame withheld because stage
// failed (fail closed) before the record stage ran: what the server sent
// is accounted for even when the client got an error instead.
func (f *Filter) recordWithheld(ctx context.Context, ex *Exchange, failed int) {
	if failed >= len(f.stages)-2 { // the record stage itself failed, or act
		return
	}
	var recs []*ctxguard.Record
	for _, u := range ex.Units {
		for _, in := range u.Items {
			if in.Record.SHA256 == "" {
				continue // not observed yet
			}
			in.Record.Withheld = true
			in.Record.Note = joinNote(in.Record.Note, "withheld: stage "+f.stages[failed].Name()+" failed (fail closed)")
			recs = append(recs, &in.Record)
		}
	}
	if len(recs) == 0 {
		return
	}
	if err := f.opts.Records.AppendRecords(ctx, recs); err != nil {
		f.log.Error("could not record a withheld message", "server", ex.Session.Server, "err", err)
	}
}

// run runs one stage, turning a panic into an error: a bug in one stage
// must fail the message closed, not take the relay down.
func (f *Filter) run(ctx context.Context, st Stage, ex *Exchange) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return st.Run(ctx, ex)
}

// withheldFrame records a frame that is not JSON-RPC, so that everything
// the server sent is accounted for.
func (f *Filter) withheldFrame(ctx context.Context, ex *Exchange) {
	s := ex.Session
	o := s.origin(jsonrpc.Invalid, "", nil, nil)
	o.Message = "unknown"
	it := ctxguard.Item{Kind: ctxguard.KindUnparsed, Content: ex.Frame, Note: ex.Reason + "; withheld"}
	rec, _ := provenance.Observe(&it, &o, f.now())
	if err := f.opts.Records.AppendRecords(ctx, []*ctxguard.Record{&rec}); err != nil {
		f.log.Error("could not record a withheld frame", "server", s.Server, "err", err)
	}
	f.log.Warn("withheld a frame from the server that is not JSON-RPC", "server", s.Server, "bytes", len(ex.Frame), "reason", ex.Reason, "sha256", rec.SHA256)
}
