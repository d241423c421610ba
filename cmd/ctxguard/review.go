package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/review"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
	"github.com/ctxguard/ctxguard/store/search"
)

// defaultReviewListen is where ctxguard review listens when neither
// --listen nor the config file say.
const defaultReviewListen = "127.0.0.1:7878"

type reviewCmd struct {
	detectorFlags
	Listen       string        `name:"listen" placeholder:"ADDR" help:"Address to serve on. Default: [review] listen from the config file, else 127.0.0.1:7878."`
	AllowRemote  bool          `name:"allow-remote" help:"Allow an address other than loopback. Reviewers' tokens and quarantined content then cross the network: use --tls-cert and --tls-key, or a TLS proxy."`
	Reviewer     string        `name:"reviewer" placeholder:"NAME" help:"Name of the reviewer whose token --token-env holds."`
	TokenEnv     string        `name:"token-env" placeholder:"VAR" help:"Environment variable holding one more reviewer's token (at least 16 characters), for --reviewer."`
	TLSCert      string        `name:"tls-cert" type:"existingfile" placeholder:"FILE" help:"Serve HTTPS with this certificate (PEM), and --tls-key."`
	TLSKey       string        `name:"tls-key" type:"existingfile" placeholder:"FILE" help:"Private key (PEM) of --tls-cert."`
	PollInterval time.Duration `name:"poll-interval" default:"200ms" placeholder:"DURATION" help:"How often the queue is checked for items to show live."`
}

// Help is the command's description in ctxguard review --help.
func (c *reviewCmd) Help() string {
	return "Serve the reviewers' web UI and JSON API: the quarantine queue with filters and full-text search, each item's content with its findings marked, its baseline diff and provenance, release and reject, and live updates as filters hold new items. Reviewers sign in with the tokens of the config file's [review] reviewers (or --token-env)."
}

func (c *reviewCmd) Run(ctx context.Context, g *Globals) error {
	addr := firstNonEmpty(c.Listen, g.cfg.Review.Listen, defaultReviewListen)
	loopback, err := isLoopback(addr)
	if err != nil {
		return exitCode{2, fmt.Sprintf("review: --listen %s: %v", addr, err)}
	}
	if !loopback && !c.AllowRemote {
		return exitCode{2, fmt.Sprintf("review: %s is not a loopback address: the review UI shows quarantined content and takes reviewers' tokens, so it listens on 127.0.0.1 by default; pass --allow-remote to serve %s anyway (with --tls-cert/--tls-key or behind a TLS proxy)", addr, addr)}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return exitCode{2, "review: --tls-cert and --tls-key go together"}
	}
	reviewers, err := c.reviewers(g.cfg)
	if err != nil {
		return exitCode{2, "review: " + err.Error()}
	}
	engine, err := c.engine(g)
	if err != nil {
		return err
	}
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	log := g.logger(false)

	var index review.Index
	idx, err := search.Open(filepath.Join(dir, "index"), 5*time.Second)
	if err != nil {
		// The queue works without the index: a search then filters the
		// listing, which is slower and matches words only.
		log.Warn("review: no full-text index; searches will filter the queue instead", "err", err)
	} else {
		defer idx.Close()
		index = searchIndex{idx}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	srv, err := review.New(review.Options{
		Queue:        db,
		Index:        index,
		Engine:       engine,
		Reviewers:    reviewers,
		Logger:       log,
		PollInterval: c.PollInterval,
		Hosts:        hostNames(ln.Addr().(*net.TCPAddr), loopback),
	})
	if err != nil {
		ln.Close()
		return exitCode{2, err.Error()}
	}
	defer srv.Close()

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	names := make([]string, len(reviewers))
	for i, r := range reviewers {
		names[i] = r.Name
	}
	fmt.Fprintf(g.stdout, "ctxguard review: %s://%s/ (reviewers: %s)\n", scheme, urlHost(ln.Addr().(*net.TCPAddr)), strings.Join(names, ", "))
	if !loopback && scheme == "http" {
		log.Warn("review: serving plain HTTP on a non-loopback address: tokens and content cross the network in clear", "addr", ln.Addr().String())
	}

	// Stop taking requests, let those under way finish; the websockets
	// are cut first (Shutdown does not wait for hijacked connections).
	l := listener{cert: c.TLSCert, key: c.TLSKey, grace: 5 * time.Second, beforeShutdown: func() { srv.Close() }}
	if err := l.serve(ctx, hs, ln); err != nil {
		return fmt.Errorf("review: %w", err)
	}
	fmt.Fprintln(g.stderr, "ctxguard review: stopped")
	return nil
}

// reviewers are the config file's reviewers and the one of --token-env.
func (c *reviewCmd) reviewers(cfg *config.Config) ([]config.Reviewer, error) {
	rs := slices.Clone(cfg.Review.Reviewers)
	switch {
	case c.TokenEnv != "":
		if c.Reviewer == "" {
			return nil, errors.New("--token-env needs --reviewer NAME: actions are recorded under the reviewer's name")
		}
		tok := os.Getenv(c.TokenEnv)
		if len(tok) < 16 {
			return nil, fmt.Errorf("$%s must hold a token of at least 16 characters (it has %d)", c.TokenEnv, len(tok))
		}
		for _, r := range rs {
			if r.Token == tok {
				return nil, fmt.Errorf("$%s holds the token of reviewer %s from the config file", c.TokenEnv, r.Name)
			}
		}
		rs = append(rs, config.Reviewer{Name: c.Reviewer, Token: tok})
	case c.Reviewer != "":
		return nil, errors.New("--reviewer goes with --token-env VAR, the variable that holds the reviewer's token")
	}
	if len(rs) == 0 {
		return nil, errors.New("no reviewers: add reviewers with tokens to the config file ([[review.reviewers]] name = \"…\", token = \"…\", then --config FILE), or pass --reviewer NAME --token-env VAR")
	}
	return rs, nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
// An empty host means every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// hostNames are the Host headers the server answers on loopback, so that
// a web page on another name that resolves to 127.0.0.1 (DNS rebinding)
// gets nothing. On other addresses any Host goes: the server cannot know
// its names.
func hostNames(a *net.TCPAddr, loopback bool) []string {
	if !loopback {
		return nil
	}
	port := fmt.Sprint(a.Port)
	return []string{
		net.JoinHostPort("127.0.0.1", port),
		net.JoinHostPort("localhost", port),
		net.JoinHostPort("::1", port),
		net.JoinHostPort(a.IP.String(), port),
	}
}

func urlHost(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	return net.JoinHostPort(a.IP.String(), fmt.Sprint(a.Port))
}

// searchIndex adapts store/search's index to the review server.
type searchIndex struct{ x *search.Index }

func (s searchIndex) Search(ctx context.Context, r review.SearchRequest) (review.SearchResult, error) {
	// The index knows detectors and rules apart; the UI's filter may name
	// detector.rule, of which the detector is what the index filters on.
	det, _, _ := strings.Cut(r.Detector, ".")
	res, err := s.x.Search(ctx, search.Request{
		Query: r.Query, Status: r.Status, Server: r.Server, Detector: det,
		Severity: r.Severity, Since: r.Since, Limit: r.Limit, Offset: r.Offset,
	})
	if errors.Is(err, search.ErrBadQuery) {
		return review.SearchResult{}, fmt.Errorf("%w: %v", review.ErrBadQuery, err)
	}
	return review.SearchResult{Total: res.Total, IDs: res.IDs}, err
}

func (s searchIndex) Sync(ctx context.Context, q store.Quarantine) (int, error) {
	return s.x.Sync(ctx, q)
}
