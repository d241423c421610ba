package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/review"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/search"
)

type quarantineCmd struct {
	Ls      quarantineLsCmd      `cmd:"" help:"List the queue, newest first."`
	Show    quarantineShowCmd    `cmd:"" help:"Show one item: why it was held, its findings, its content and history."`
	Diff    quarantineDiffCmd    `cmd:"" help:"Show an item's diff from its signed baseline (or its pinned tool definition)."`
	Release quarantineReleaseCmd `cmd:"" help:"Release an item: its exact content (by SHA-256) passes from now on, at its URI or everywhere. The content is re-scanned with the current rules first."`
	Reject  quarantineRejectCmd  `cmd:"" help:"Reject an item: its exact content (by SHA-256) is withheld everywhere from now on."`
	Search  quarantineSearchCmd  `cmd:"" help:"Search the queue (content, URI, server, detector, status) with the full-text index."`
}

// itemSummary is an item as ls and search print it: everything but the
// content and the full record.
type itemSummary struct {
	ID          string                    `json:"id"`
	Status      ctxguard.QuarantineStatus `json:"status"`
	CreatedAt   time.Time                 `json:"created_at"`
	Server      string                    `json:"server"`
	URI         string                    `json:"uri,omitempty"`
	Tool        string                    `json:"tool,omitempty"`
	SHA256      string                    `json:"sha256"`
	Score       float64                   `json:"score"`
	Findings    []ctxguard.Finding        `json:"findings"`
	Reasons     []string                  `json:"reasons"`
	Withheld    bool                      `json:"withheld"`
	ContentSize int64                     `json:"content_size"`
	Baseline    ctxguard.BaselineStatus   `json:"baseline,omitempty"`
}

func summarize(it *ctxguard.QuarantineItem) itemSummary {
	s := itemSummary{ID: it.ID, Status: it.Status, CreatedAt: it.CreatedAt, Server: it.Server, URI: it.URI, Tool: it.Tool,
		SHA256: it.SHA256, Score: it.Score, Findings: it.Findings, Reasons: it.Reasons, Withheld: it.Withheld, ContentSize: it.ContentSize}
	if s.Findings == nil {
		s.Findings = []ctxguard.Finding{}
	}
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	if it.Record.Baseline != nil {
		s.Baseline = it.Record.Baseline.Status
	}
	return s
}

// printItems writes items as a JSON array or a table.
func printItems(g *Globals, items []*ctxguard.QuarantineItem, asJSON bool) error {
	if asJSON {
		out := make([]itemSummary, len(items))
		for i, it := range items {
			out[i] = summarize(it)
		}
		return printJSON(g, out)
	}
	if len(items) == 0 {
		fmt.Fprintln(g.stdout, "no items")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tSERVER\tURI / TOOL\tSCORE\tWHY")
	for _, it := range items {
		what := it.URI
		if what == "" {
			what = it.Tool
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n", it.ID, it.Status, it.CreatedAt.Local().Format("2006-01-02 15:04:05"),
			sanitizeLine(it.Server), sanitizeLine(shorten(what, 60)), it.Score, sanitizeLine(strings.Join(it.Reasons, "; ")))
	}
	return tw.Flush()
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

type quarantineLsCmd struct {
	Status string `name:"status" enum:"pending,released,rejected," default:"" help:"Only items of this status (pending, released, rejected)."`
	Server string `name:"server" placeholder:"NAME" help:"Only items of this server."`
	Limit  int    `name:"limit" short:"n" default:"50" help:"At most this many items (0: all)."`
	Before string `name:"before" placeholder:"ID" help:"Items older than this one (the next page)."`
	JSON   bool   `name:"json" help:"Print one JSON array of items."`
}

func (c *quarantineLsCmd) Run(ctx context.Context, g *Globals) error {
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	items := []*ctxguard.QuarantineItem{}
	q := store.ItemQuery{Status: ctxguard.QuarantineStatus(c.Status), Server: c.Server, Before: c.Before, Limit: c.Limit}
	if err := db.Items(ctx, q, func(it *ctxguard.QuarantineItem) error { items = append(items, it); return nil }); err != nil {
		return err
	}
	return printItems(g, items, c.JSON)
}

type quarantineShowCmd struct {
	ID   string `arg:"" name:"id" help:"The item's id."`
	JSON bool   `name:"json" help:"Print the whole item as JSON (content, record, history)."`
}

func (c *quarantineShowCmd) Run(ctx context.Context, g *Globals) error {
	it, err := loadItem(ctx, g, c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(g, it)
	}
	w := g.stdout
	fmt.Fprintf(w, "%s  %s  held %s\n", it.ID, strings.ToUpper(string(it.Status)), it.CreatedAt.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "server   %s\n", sanitizeLine(it.Server))
	if it.URI != "" {
		fmt.Fprintf(w, "uri      %s\n", sanitizeLine(it.URI))
	}
	if it.Tool != "" {
		fmt.Fprintf(w, "tool     %s\n", sanitizeLine(it.Tool))
	}
	fmt.Fprintf(w, "method   %s (request id %s, session %s, client %s %s)\n", sanitizeLine(it.Record.Method), sanitizeLine(string(it.Record.RequestID)),
		sanitizeLine(it.Record.Session), sanitizeLine(it.Record.Client.Name), sanitizeLine(it.Record.Client.Version))
	fmt.Fprintf(w, "sha256   %s (%d bytes)\n", it.SHA256, it.ContentSize)
	withheld := "withheld from the client"
	if !it.Withheld {
		withheld = "forwarded (monitor mode)"
	}
	fmt.Fprintf(w, "score    %.2f, %s\n", it.Score, withheld)
	for _, r := range it.Reasons {
		fmt.Fprintf(w, "why      %s\n", sanitizeLine(r))
	}
	if len(it.Findings) > 0 {
		fmt.Fprintf(w, "\nfindings (byte spans in the content):\n")
		for _, f := range it.Findings {
			fmt.Fprintf(w, "  %-8s %s.%s  %d-%d  %q\n", f.Severity, f.Detector, f.Rule, f.Start, f.End, excerpt(it.Content, f.Start, f.End))
		}
	}
	if b := it.Record.Baseline; b != nil && b.Diff != "" {
		fmt.Fprintf(w, "\nbaseline %s: see `ctxguard quarantine diff %s`\n", b.Status, it.ID)
	}
	fmt.Fprintf(w, "\ncontent:\n")
	switch {
	case it.Binary:
		fmt.Fprintf(w, "  (binary, %d bytes: kept by checksum only)\n", it.ContentSize)
	default:
		for line := range strings.Lines(it.Content) {
			fmt.Fprintf(w, "  | %s\n", sanitizeLine(strings.TrimRight(line, "\n")))
		}
		if it.ContentTruncated {
			fmt.Fprintf(w, "  … (cut: %d of %d bytes kept)\n", len(it.Content), it.ContentSize)
		}
	}
	fmt.Fprintf(w, "\nhistory:\n")
	for _, h := range it.History {
		fmt.Fprintf(w, "  %s  %-10s %s %s %s\n", h.At.Local().Format(time.RFC3339), h.Action, sanitizeLine(h.Reviewer), h.Scope, sanitizeLine(h.Note))
	}
	return nil
}

// excerpt returns content[start:end], bounded, for showing a finding.
func excerpt(content string, start, end int) string {
	if start < 0 || end > len(content) || start >= end {
		return ""
	}
	s := content[start:end]
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strings.ToValidUTF8(s, "�")
}

type quarantineDiffCmd struct {
	ID   string `arg:"" name:"id" help:"The item's id."`
	JSON bool   `name:"json" help:"Print {id, status, diff, diff_truncated} as JSON."`
}

func (c *quarantineDiffCmd) Run(ctx context.Context, g *Globals) error {
	it, err := loadItem(ctx, g, c.ID)
	if err != nil {
		return err
	}
	b := it.Record.Baseline
	if b == nil || b.Diff == "" {
		why := "it was not checked against a baseline"
		if b != nil {
			why = "its baseline status is " + string(b.Status)
			if b.Reason != "" {
				why += " (" + b.Reason + ")"
			}
		}
		return exitCode{1, fmt.Sprintf("quarantine diff: %s has no diff: %s", it.ID, why)}
	}
	if c.JSON {
		return json.NewEncoder(g.stdout).Encode(map[string]any{"id": it.ID, "status": b.Status, "diff": b.Diff, "diff_truncated": b.DiffTruncated})
	}
	for line := range strings.Lines(b.Diff) {
		fmt.Fprintln(g.stdout, sanitizeLine(strings.TrimRight(line, "\n")))
	}
	if b.DiffTruncated {
		fmt.Fprintln(g.stdout, "… (diff cut at the record's bound)")
	}
	return nil
}

type reviewFlags struct {
	Note     string `name:"note" placeholder:"TEXT" help:"Why, for the item's history."`
	Reviewer string `name:"reviewer" placeholder:"NAME" help:"Who decides (default: $USER)."`
	JSON     bool   `name:"json" help:"Print the item as it is now, as JSON (with the re-scan report of a release)."`
}

// printTriaged prints the item after a review action as JSON.
func (f *reviewFlags) printTriaged(g *Globals, it *ctxguard.QuarantineItem, rs *review.Rescan) error {
	out := map[string]any{"item": it}
	if rs != nil {
		out["rescan"] = map[string]any{"done": rs.Done, "changed": rs.Changed(), "score": rs.Score, "added": rs.Added, "removed": rs.Removed, "summary": rs.String()}
	}
	return printJSON(g, out)
}

func (f *reviewFlags) action(name string) ctxguard.ReviewAction {
	who := f.Reviewer
	if who == "" {
		who = os.Getenv("USER")
	}
	return ctxguard.ReviewAction{Action: name, Reviewer: who, Note: f.Note, At: time.Now().UTC()}
}

type quarantineReleaseCmd struct {
	reviewFlags
	detectorFlags
	ID    string `arg:"" name:"id" help:"The item's id."`
	Scope string `name:"scope" enum:"uri,global" default:"uri" help:"Let the content pass at its URI only (uri) or everywhere (global)."`
}

func (c *quarantineReleaseCmd) Run(ctx context.Context, g *Globals) error {
	engine, err := c.engine(g)
	if err != nil {
		return err
	}
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	a := c.action("release")
	a.Scope = c.Scope
	it, rs, err := review.Triage(ctx, db, engine, c.ID, a)
	if err != nil {
		return triageError(err)
	}
	if c.JSON {
		return c.printTriaged(g, it, rs)
	}
	fmt.Fprintf(g.stdout, "released %s (%s): content %s now passes", it.ID, sanitizeLine(firstNonEmpty(it.URI, it.Tool)), shortSum(it.SHA256))
	if c.Scope == "global" {
		fmt.Fprintln(g.stdout, " everywhere")
	} else {
		fmt.Fprintln(g.stdout, " at this URI")
	}
	if rs != nil {
		fmt.Fprintln(g.stdout, rs.String())
	}
	return nil
}

type quarantineRejectCmd struct {
	reviewFlags
	ID string `arg:"" name:"id" help:"The item's id."`
}

func (c *quarantineRejectCmd) Run(ctx context.Context, g *Globals) error {
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	it, _, err := review.Triage(ctx, db, nil, c.ID, c.action("reject"))
	if err != nil {
		return triageError(err)
	}
	if c.JSON {
		return c.printTriaged(g, it, nil)
	}
	fmt.Fprintf(g.stdout, "rejected %s: content %s is withheld everywhere from now on\n", it.ID, shortSum(it.SHA256))
	return nil
}

func loadItem(ctx context.Context, g *Globals, id string) (*ctxguard.QuarantineItem, error) {
	db, err := openStore(g)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	it, err := db.Item(ctx, id)
	if err != nil {
		return nil, triageError(err)
	}
	return it, nil
}

func triageError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return exitCode{1, "quarantine: " + err.Error()}
	}
	return err
}

type quarantineSearchCmd struct {
	Query    string `arg:"" name:"query" help:"Words to find (content, URI, server, tool, detector, rule); fields as field:value, e.g. 'iban server:wiki detector:exfil'; all parts must match, -word excludes."`
	Status   string `name:"status" enum:"pending,released,rejected," default:"" help:"Only items of this status."`
	Server   string `name:"server" placeholder:"NAME" help:"Only items of this server."`
	Detector string `name:"detector" placeholder:"NAME" help:"Only items a finding of this detector fired on."`
	Severity string `name:"severity" enum:"low,medium,high,critical," default:"" help:"Only items with a finding at least this severe."`
	Limit    int    `name:"limit" short:"n" default:"50" help:"At most this many items."`
	JSON     bool   `name:"json" help:"Print one JSON array of items."`
}

func (c *quarantineSearchCmd) Run(ctx context.Context, g *Globals) error {
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	// The index is a cache of the store: brought up to date (or rebuilt)
	// before each search.
	idx, err := search.Open(filepath.Join(dir, "index"), 5*time.Second)
	if errors.Is(err, search.ErrBusy) {
		return exitCode{1, "quarantine search: the index is in use (by ctxguard review?); search in the review UI, or stop it and try again"}
	}
	if err != nil {
		return err
	}
	defer idx.Close()
	if _, err := idx.Sync(ctx, db); err != nil {
		return err
	}
	res, err := idx.Search(ctx, search.Request{Query: c.Query, Status: ctxguard.QuarantineStatus(c.Status), Server: c.Server,
		Detector: c.Detector, Severity: ctxguard.Severity(c.Severity), Limit: c.Limit})
	if errors.Is(err, search.ErrBadQuery) {
		return exitCode{2, "quarantine search: " + err.Error()}
	}
	if err != nil {
		return err
	}
	items := make([]*ctxguard.QuarantineItem, 0, len(res.IDs))
	for _, id := range res.IDs {
		it, err := db.Item(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // the index is a cache; the store decides
		}
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	if !c.JSON {
		fmt.Fprintf(g.stderr, "%d match(es)\n", res.Total)
	}
	return printItems(g, items, c.JSON)
}

// shortSum is the start of a checksum, for a line of output.
func shortSum(s string) string { return s[:min(len(s), 16)] }
