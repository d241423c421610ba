package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/store"
)

// Options configure a Server. Queue and Reviewers are required.
type Options struct {
	// Queue is the quarantine the reviewers triage. Other processes (the
	// filters) may write to it while the server runs.
	Queue store.Quarantine
	// Index, when not nil, answers full-text searches and is kept in sync
	// with the queue. Without it a search filters the queue's listing.
	Index Index
	// Engine re-scans content on release (see Triage); nil skips the
	// re-scan.
	Engine *detectors.Engine
	// Reviewers may sign in, each with their token. Actions are attributed
	// to the name of the reviewer who signed in, never to a name a request
	// carries.
	Reviewers []config.Reviewer
	// Logger gets failed sign-ins, triage actions and errors. Default:
	// discard.
	Logger *slog.Logger
	// PollInterval is how often the queue's change log is read for live
	// updates. Default 200ms.
	PollInterval time.Duration
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL time.Duration
	// LoginDelay is how long a wrong token (sign-in form or bearer)
	// holds back the next token check: tokens are checked one at a
	// time, so they cannot be guessed in parallel. Default 1s.
	LoginDelay time.Duration
	// Hosts, when not empty, are the only Host headers the server answers
	// (such as "127.0.0.1:7878" and "localhost:7878"): a page on another
	// name that resolves to this address (DNS rebinding) gets nothing.
	Hosts []string
	// SendBuffer is how many polls' worth of live messages may wait for
	// one websocket client; a client further behind is disconnected.
	// Default 64.
	SendBuffer int
}

// Index is a full-text index of the queue, such as store/search's. It
// must be safe for concurrent use.
type Index interface {
	// Search returns the ids of one page of the items that match r,
	// newest first, and how many match in all. A malformed query is an
	// error that wraps ErrBadQuery.
	Search(ctx context.Context, r SearchRequest) (SearchResult, error)
	// Sync brings the index up to date with q and returns how many items
	// it indexed.
	Sync(ctx context.Context, q store.Quarantine) (int, error)
}

// SearchRequest is a full-text query with the queue's filters. Zero
// fields do not filter.
type SearchRequest struct {
	Query  string
	Status ctxguard.QuarantineStatus
	Server string
	// Detector names a detector ("phrases"); items with one of its
	// findings match.
	Detector string
	// Severity is the least severity of an item's strongest finding.
	Severity ctxguard.Severity
	Since    time.Time
	Limit    int
	Offset   int
}

// ErrBadQuery is wrapped by an Index's error for a malformed query: the
// reviewer's mistake, answered with 400 and the index's explanation.
var ErrBadQuery = errors.New("review: bad search query")

// SearchResult is one page of a search.
type SearchResult struct {
	Total uint64
	IDs   []string
}

// Server is the reviewers' HTTP server: the JSON API under /api/, the
// websocket at /api/live, the sign-in page and the embedded web UI. It is
// an http.Handler.
//
// New starts a goroutine that follows the queue's change log; Close stops
// it and disconnects the websocket clients.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	tokens []reviewerToken
	hosts  map[string]bool
	live   *hub

	sessMu   sync.Mutex
	sessions map[string]*session

	// checking holds one token while a presented token is checked, and
	// during the delay after a wrong one.
	checking chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// New checks opts and starts following the queue.
func New(opts Options) (*Server, error) {
	if opts.Queue == nil {
		return nil, errors.New("review: no quarantine queue")
	}
	if len(opts.Reviewers) == 0 {
		return nil, errors.New("review: no reviewers are configured: add [[review.reviewers]] entries (name and token) to the config file, or pass --reviewer NAME --token-env VAR")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LoginDelay <= 0 {
		opts.LoginDelay = time.Second
	}
	if opts.SendBuffer <= 0 {
		opts.SendBuffer = 64
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		sessions: map[string]*session{},
		checking: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	seen := map[string]bool{}
	for i, r := range opts.Reviewers {
		if r.Name == "" || len(r.Token) < 16 {
			return nil, fmt.Errorf("review: reviewer %d (%q): a name and a token of at least 16 characters are required", i, r.Name)
		}
		if seen[r.Token] {
			return nil, fmt.Errorf("review: reviewer %d (%s): two reviewers share a token", i, r.Name)
		}
		seen[r.Token] = true
		s.tokens = append(s.tokens, newReviewerToken(r))
	}
	if len(opts.Hosts) > 0 {
		s.hosts = map[string]bool{}
		for _, h := range opts.Hosts {
			s.hosts[strings.ToLower(h)] = true
		}
	}
	s.live = newHub(opts.SendBuffer, s.log)
	s.routes()

	// Live updates start at the queue's current position: the UI loads
	// the listing itself and only needs what changes afterwards.
	ctx, cancel := context.WithCancel(context.Background())
	_, cursor, err := opts.Queue.RejectedContent(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("review: read the queue's position: %w", err)
	}
	s.cancel = cancel
	go s.follow(ctx, cursor)
	return s, nil
}

// Close stops following the queue and disconnects the live clients. It
// does not close the queue or the index.
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	s.live.close()
	return nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.serveIndex)
	m.HandleFunc("GET /static/app.js", s.serveAsset("app.js", "text/javascript; charset=utf-8"))
	m.HandleFunc("GET /api/whoami", s.whoami)
	m.HandleFunc("GET /api/items", s.listItems)
	m.HandleFunc("GET /api/items/{id}", s.getItem)
	m.HandleFunc("POST /api/items/{id}/release", s.triage("release"))
	m.HandleFunc("POST /api/items/{id}/reject", s.triage("reject"))
	m.HandleFunc("GET /api/live", s.serveLive)
	m.HandleFunc("POST /logout", s.logout)
	s.mux = m
}

// securityHeaders are set on every response. The CSP allows only the
// server's own script and style files: no inline script, no inline
// style, no framing, no form posts elsewhere.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cache-Control":                "no-store",
	"X-Frame-Options":              "DENY",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=()",
}

// ServeHTTP sets the security headers, checks the Host, signs the reviewer
// in (session cookie, or a bearer token for scripts), checks that a state
// change comes from this origin with the session's CSRF token, and
// dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	if s.hosts != nil && !s.hosts[strings.ToLower(r.Host)] {
		httpError(w, r, http.StatusMisdirectedRequest, "this server does not answer for host "+r.Host)
		return
	}
	if r.Method == http.MethodPost && !sameOrigin(r) {
		httpError(w, r, http.StatusForbidden, "cross-origin request refused")
		return
	}
	// The sign-in page, its style and the icon are the only things served
	// to a stranger.
	switch r.URL.Path {
	case "/login":
		s.serveLogin(w, r)
		return
	case "/static/app.css":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			s.serveAsset("app.css", "text/css; charset=utf-8")(w, r)
			return
		}
	case "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
		return
	}
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A bearer token is not sent by a browser on its own, so only a
		// cookie session needs the CSRF token.
		if who.session != nil && !who.session.checkCSRF(r) {
			s.log.Warn("review: request without a valid CSRF token refused", "reviewer", who.name, "path", r.URL.Path, "remote", r.RemoteAddr)
			httpError(w, r, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reviewerKey{}, who)))
}
