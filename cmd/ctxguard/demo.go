package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/term"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/demo"
	"github.com/ctxguard/ctxguard/demo/kb"
	"github.com/ctxguard/ctxguard/provenance/tlog"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

type demoCmd struct {
	Run   demoRunCmd   `cmd:"" default:"1" help:"Run the demo (the default)."`
	Serve demoServeCmd `cmd:"" help:"Serve the bundled knowledge base over MCP stdio (the demo's server; also handy for trying the filter by hand)."`
}

type demoRunCmd struct {
	Review string `name:"review" enum:"auto,yes,no" default:"auto" help:"After the session, serve the review UI until Ctrl-C: auto (when stdout is a terminal), yes or no."`
	Listen string `name:"listen" default:"127.0.0.1:0" placeholder:"ADDR" help:"Where the review UI listens (default: a free loopback port)."`
}

func (c *demoRunCmd) Run(ctx context.Context, g *Globals) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: cannot find the ctxguard binary: %w", err)
	}
	dir := g.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ctxguard-demo-"); err != nil {
			return err
		}
	}
	out := g.stdout
	const prefix = "kb://northwind/"
	manifest, err := demo.SignPublished(dir, prefix)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ctxguard demo\n\n")
	fmt.Fprintf(out, "The knowledge base's owner signed its documents as published, and the operator trusts the owner's key for %s:\n", prefix)
	fmt.Fprintf(out, "  ctxguard sign --key OWNER-KEY --uri-prefix %s DIR -o %s\n", prefix, manifest)
	fmt.Fprintf(out, "  ctxguard trust add --data-dir %s --principal %s --key %s --scope %s\n", dir, demo.Owner, filepath.Join(dir, "demo-owner.key.pub"), prefix)
	fmt.Fprintf(out, "Since then, an attacker edited two pages on the server, and one page was published unsigned. The server (ctxguard demo serve) runs behind the filter:\n")
	fmt.Fprintf(out, "  ctxguard wrap --data-dir %s --name demo-kb --manifests %s -- ctxguard demo serve\n", dir, filepath.Dir(manifest))
	fmt.Fprintf(out, "and a scripted MCP client (the official Go SDK) lists and reads every document and searches the knowledge base.\n\n")

	cmd := exec.CommandContext(ctx, exe, "--data-dir", dir, "--log-level", "error", "wrap", "--name", "demo-kb",
		"--manifests", filepath.Dir(manifest), "--", exe, "demo", "serve", "--uri-prefix", prefix)
	cmd.Stderr = g.stderr
	start := time.Now()
	tr, err := demo.RunSession(ctx, &mcp.CommandTransport{Command: cmd})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Session with %q: %d resources listed, %d read, %d tool calls, in %s.\n\n",
		tr.Server, tr.Resources, tr.Reads, tr.Calls, time.Since(start).Round(time.Millisecond))

	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var recs []*ctxguard.Record
	if err := db.ScanRecords(ctx, store.RecordQuery{}, func(r *ctxguard.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	fmt.Fprintf(out, "What the filter observed (%d items, each recorded before it was forwarded):\n\n", len(recs))
	if err := demo.PrintRecords(out, recs); err != nil {
		return err
	}
	for _, r := range recs {
		if b := r.Baseline; b != nil && b.Status == ctxguard.BaselineDrifted && r.Method == "resources/read" {
			fmt.Fprintf(out, "\n%s drifted from what %s signed (%s #%d); decision: %s. The diff:\n", r.URI, b.Signer, b.Manifest, b.Sequence, r.Decision)
			for line := range strings.Lines(b.Diff) {
				fmt.Fprintf(out, "  %s", sanitizeLine(strings.TrimSuffix(line, "\n"))+"\n")
			}
		}
	}
	for _, r := range recs {
		if r.Verdict == ctxguard.VerdictSuspicious {
			fmt.Fprintf(out, "\n%s was scored suspicious (%.2f):\n", r.URI, r.Score)
			for _, f := range r.Findings {
				fmt.Fprintf(out, "  %-8s %-32s bytes %d-%d\n", f.Severity, f.Rule, f.Start, f.End)
			}
		}
	}
	if err := printLogState(ctx, out, g, dir, db); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nCheck the manifest yourself:\n  ctxguard verify --data-dir %s %s\n", dir, manifest)
	fmt.Fprintf(out, "The records, as a SIEM would take them:\n  ctxguard audit export --data-dir %s --format cef   (or jsonl)\n", dir)
	fmt.Fprintf(out, "Score the bundled documents offline:\n  ctxguard scan demo/kb/   (or any directory of yours)\n")

	var held []*ctxguard.QuarantineItem
	if err := db.Items(ctx, store.ItemQuery{}, func(it *ctxguard.QuarantineItem) error { held = append(held, it); return nil }); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nHeld for review, withheld from the client (ctxguard quarantine ls --data-dir %s):\n\n", dir)
	if err := printItems(g, held, false); err != nil {
		return err
	}
	db.Close() // the review server opens the store itself
	return c.serveReview(ctx, g, dir)
}

// serveReview serves the review UI over the demo's data directory with a
// fresh token, until Ctrl-C; or, when not asked to, says how to.
func (c *demoRunCmd) serveReview(ctx context.Context, g *Globals, dir string) error {
	out := g.stdout
	serve := c.Review == "yes"
	if c.Review == "auto" {
		f, ok := g.stdout.(*os.File)
		serve = ok && term.IsTerminal(int(f.Fd()))
	}
	if !serve {
		fmt.Fprintf(out, "\nTriage them in the review UI:\n  CTXGUARD_REVIEW_TOKEN=$(openssl rand -hex 16) ctxguard review --data-dir %s --reviewer you --token-env CTXGUARD_REVIEW_TOKEN\n", dir)
		return nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	const env = "CTXGUARD_DEMO_REVIEW_TOKEN"
	if err := os.Setenv(env, token); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nTriage them in the review UI (Ctrl-C to stop). Sign in with the token\n  %s\n", token)
	g.DataDir = dir
	rc := &reviewCmd{Listen: c.Listen, Reviewer: "demo-reviewer", TokenEnv: env, PollInterval: 200 * time.Millisecond}
	return rc.Run(ctx, g)
}

type demoServeCmd struct {
	Dir       string `name:"dir" type:"existingdir" placeholder:"DIR" help:"Serve the files of DIR instead of the bundled documents."`
	URIPrefix string `name:"uri-prefix" default:"kb://northwind/" help:"Prefix of the resources' URIs."`
}

func (c *demoServeCmd) Run(ctx context.Context) error {
	var fsys fs.FS = kb.Docs
	if c.Dir != "" {
		fsys = os.DirFS(c.Dir)
	}
	s, err := demo.NewServer(fsys, c.URIPrefix)
	if err != nil {
		return err
	}
	return s.Run(ctx, &mcp.StdioTransport{})
}

// printLogState verifies the provenance log the session left, as audit
// verify does, and says what it found.
func printLogState(ctx context.Context, out io.Writer, g *Globals, dir string, db *bolt.DB) error {
	key, err := auditKey(g, dir)
	if err != nil {
		return err
	}
	rep, err := tlog.Verify(ctx, db, tlog.Options{Verifier: key.Verifier})
	if err != nil {
		return err
	}
	verdict := "OK"
	if !rep.OK() {
		verdict = fmt.Sprintf("FAIL (%s)", rep.Problems[0])
	}
	fmt.Fprintf(out, "\nThe records form a tamper-evident log (a Merkle tree; the filter signed a checkpoint of it as it stopped):\n")
	fmt.Fprintf(out, "  ctxguard audit verify --data-dir %s\n  → %s: %d records rehashed, %d checkpoint(s) verified\n", dir, verdict, rep.Rehashed, rep.Checkpoints)
	return nil
}
