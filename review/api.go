package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// Bounds of the API.
const (
	defaultLimit = 100
	maxLimit     = 500
	maxNote      = 2000 // characters
	maxBody      = 64 << 10
)

// filter is a listing's or a search's query string, checked.
type filter struct {
	status   ctxguard.QuarantineStatus
	server   string
	detector string
	severity ctxguard.Severity
	since    time.Time
	text     string
	before   string
	limit    int
	offset   int
}

func parseFilter(q url.Values, now time.Time) (filter, error) {
	f := filter{
		server:   strings.TrimSpace(q.Get("server")),
		detector: strings.TrimSpace(q.Get("detector")),
		text:     strings.TrimSpace(q.Get("q")),
		before:   q.Get("before"),
		limit:    defaultLimit,
	}
	switch st := ctxguard.QuarantineStatus(q.Get("status")); st {
	case "", "all":
	case ctxguard.StatusPending, ctxguard.StatusReleased, ctxguard.StatusRejected:
		f.status = st
	default:
		return f, fmt.Errorf("status %q: use pending, released, rejected or all", st)
	}
	if v := q.Get("severity"); v != "" {
		f.severity = ctxguard.Severity(v)
		if f.severity.Rank() == 0 {
			return f, fmt.Errorf("severity %q: use low, medium, high or critical (the least severity shown)", v)
		}
	}
	if v := q.Get("since"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.since = t
		} else {
			return f, fmt.Errorf("since %q: use a duration (24h) or an RFC 3339 time", v)
		}
	}
	for _, p := range []struct {
		name string
		to   *int
		max  int
	}{{"limit", &f.limit, maxLimit}, {"offset", &f.offset, 1 << 20}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > p.max {
				return f, fmt.Errorf("%s %q: use a number from 0 to %d", p.name, v, p.max)
			}
			*p.to = n
		}
	}
	if f.limit == 0 {
		f.limit = defaultLimit
	}
	return f, nil
}

// match reports whether it passes the filter's conditions beyond status
// and server, which the store applies.
func (f *filter) match(it *ctxguard.QuarantineItem) bool {
	if f.severity != "" && severityOf(it).Rank() < f.severity.Rank() {
		return false
	}
	if f.detector != "" && !slices.ContainsFunc(it.Findings, func(x ctxguard.Finding) bool {
		return x.Detector == f.detector || x.Detector+"."+x.Rule == f.detector
	}) {
		return false
	}
	if !f.since.IsZero() && it.CreatedAt.Before(f.since) {
		return false
	}
	if f.text != "" {
		fields := []string{it.ID, it.Server, it.URI, it.Tool, it.SHA256, it.Content}
		fields = append(fields, it.Reasons...)
		for _, x := range it.Findings {
			fields = append(fields, x.Detector+"."+x.Rule, x.Note)
		}
		for _, a := range it.History {
			fields = append(fields, a.Reviewer, a.Note)
		}
		for _, term := range strings.Fields(strings.ToLower(f.text)) {
			if !slices.ContainsFunc(fields, func(s string) bool { return strings.Contains(strings.ToLower(s), term) }) {
				return false
			}
		}
	}
	return true
}

// listing is the answer of GET /api/items.
type listing struct {
	Items []Summary `json:"items"`
	// Mode is "list" (the queue), "search" (the full-text index) or
	// "filter" (a search without an index: the queue's items that contain
	// every word), each newest first.
	Mode string `json:"mode"`
	// Next is the before= of the next page of a list; NextOffset the
	// offset= of the next page of a search.
	Next       string  `json:"next,omitempty"`
	NextOffset int     `json:"next_offset,omitempty"`
	Total      *uint64 `json:"total,omitempty"`
}

// errStop ends a listing early.
var errStop = errors.New("stop")

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query(), time.Now())
	if err != nil {
		httpError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out := listing{Items: []Summary{}, Mode: "list"}
	if f.text != "" && s.opts.Index != nil {
		res, err := s.opts.Index.Search(r.Context(), SearchRequest{
			Query: f.text, Status: f.status, Server: f.server, Detector: f.detector,
			Severity: f.severity, Since: f.since, Limit: f.limit, Offset: f.offset,
		})
		if errors.Is(err, ErrBadQuery) {
			httpError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			s.serverError(w, r, "search", err)
			return
		}
		out.Mode, out.Total = "search", &res.Total
		for _, id := range res.IDs {
			it, err := s.opts.Queue.Item(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				s.serverError(w, r, "read item", err)
				return
			}
			out.Items = append(out.Items, summarize(it))
		}
		if next := f.offset + len(res.IDs); uint64(next) < res.Total && len(res.IDs) > 0 {
			out.NextOffset = next
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if f.text != "" {
		out.Mode = "filter"
	}
	var last string
	err = s.opts.Queue.Items(r.Context(), store.ItemQuery{Status: f.status, Server: f.server, Before: f.before}, func(it *ctxguard.QuarantineItem) error {
		// Ids sort by creation time, newest first: past since, nothing
		// older can match.
		if !f.since.IsZero() && it.CreatedAt.Before(f.since) {
			return errStop
		}
		if !f.match(it) {
			return nil
		}
		out.Items = append(out.Items, summarize(it))
		last = it.ID
		if len(out.Items) >= f.limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		s.serverError(w, r, "list items", err)
		return
	}
	if len(out.Items) >= f.limit {
		out.Next = last
	}
	writeJSON(w, http.StatusOK, out)
}

// detail is the answer of GET /api/items/{id}: the item, and what the UI
// needs to show it without parsing diffs or counting bytes.
type detail struct {
	Item       *ctxguard.QuarantineItem `json:"item"`
	Severity   ctxguard.Severity        `json:"severity,omitempty"`
	Highlights []Highlight              `json:"highlights"`
	Diff       []DiffRow                `json:"diff"`
	// Rescan says what the current rules make of a released item's
	// content (release only).
	Rescan        string `json:"rescan,omitempty"`
	RescanChanged bool   `json:"rescan_changed,omitempty"`
}

func newDetail(it *ctxguard.QuarantineItem) detail {
	d := detail{Item: it, Severity: severityOf(it), Highlights: highlights(it.Content, it.Findings), Diff: []DiffRow{}}
	if b := it.Record.Baseline; b != nil {
		d.Diff = sideBySide(b.Diff)
	}
	if it.Findings == nil {
		it.Findings = []ctxguard.Finding{}
	}
	if it.History == nil {
		it.History = []ctxguard.ReviewAction{}
	}
	return d
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	it, err := s.opts.Queue.Item(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		httpError(w, r, http.StatusNotFound, "no such item")
		return
	}
	if err != nil {
		s.serverError(w, r, "read item", err)
		return
	}
	writeJSON(w, http.StatusOK, newDetail(it))
}

// triage handles POST /api/items/{id}/release and …/reject. The body is
// {"note": …, "scope": "uri"|"global"}; the reviewer is the one signed
// in, whatever the body says.
func (s *Server) triage(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			httpError(w, r, http.StatusUnsupportedMediaType, "send the body as application/json")
			return
		}
		var body struct {
			Note  string `json:"note"`
			Scope string `json:"scope"`
		}
		err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&body)
		if err != nil && !errors.Is(err, io.EOF) {
			httpError(w, r, http.StatusBadRequest, "the body must be a JSON object: "+err.Error())
			return
		}
		body.Note = strings.TrimSpace(body.Note)
		switch {
		case utf8.RuneCountInString(body.Note) > maxNote:
			httpError(w, r, http.StatusBadRequest, fmt.Sprintf("the note is longer than %d characters", maxNote))
			return
		case action == "release" && body.Scope == "":
			body.Scope = "uri"
		case action == "release" && body.Scope != "uri" && body.Scope != "global":
			httpError(w, r, http.StatusBadRequest, fmt.Sprintf("scope %q: use uri or global", body.Scope))
			return
		case action == "reject" && body.Scope != "" && body.Scope != "global":
			httpError(w, r, http.StatusBadRequest, "a rejection is always global")
			return
		}
		who := reviewerOf(r)
		id := r.PathValue("id")
		it, rs, err := Triage(r.Context(), s.opts.Queue, s.opts.Engine, id, ctxguard.ReviewAction{
			Action: action, Reviewer: who.name, Note: body.Note, Scope: body.Scope,
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			httpError(w, r, http.StatusNotFound, "no such item")
			return
		case errors.Is(err, store.ErrBadAction):
			httpError(w, r, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			s.serverError(w, r, action, err)
			return
		}
		s.log.Info("review: "+action, "id", id, "reviewer", who.name, "scope", body.Scope)
		d := newDetail(it)
		if rs != nil {
			d.Rescan, d.RescanChanged = rs.String(), rs.Changed()
		}
		writeJSON(w, http.StatusOK, d)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// httpError answers with a JSON error on the API, plain text elsewhere.
func httpError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, code)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, op string, err error) {
	if r.Context().Err() != nil {
		return
	}
	s.log.Error("review: "+op, "path", r.URL.Path, "err", err)
	httpError(w, r, http.StatusInternalServerError, op+" failed; the server's log says why")
}
