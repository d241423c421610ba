package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/ctxguard/ctxguard/config"
)

// Main is the program: it parses the command line, runs the command and
// returns the exit code. Tests run it in-process with their own streams.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// cli is the command line. Each command is a struct with a Run method, in a
// file of its own.
type cli struct {
	Globals

	Wrap  wrapCmd  `cmd:"" help:"Run an MCP server (stdio) behind the filter: ctxguard wrap [flags] -- CMD [ARGS...]."`
	Proxy proxyCmd `cmd:"" help:"Run the filter in front of remote MCP servers (Streamable HTTP): ctxguard proxy --listen ADDR --upstream URL."`
	Scan  scanCmd  `cmd:"" help:"Score documents for prompt injection offline. Exit 0 clean, 1 suspicious found, 2 error."`
	Eval  evalCmd  `cmd:"" help:"Measure the detectors on a labeled corpus: precision, recall, F1 and false-positive rate per category."`
	Audit auditCmd `cmd:"" help:"Read the provenance records."`

	Keygen keygenCmd `cmd:"" help:"Make an Ed25519 signing key in OpenSSH format (FILE and FILE.pub), for knowledge-base owners."`
	Sign   signCmd   `cmd:"" help:"Sign the documents under DIR (or what a server returns) into a baseline manifest: MANIFEST, MANIFEST.sig, MANIFEST.snapshot."`
	Verify verifyCmd `cmd:"" help:"Check a manifest's signature against the trust store and, with DIR, every document's checksum. Exit 0 when all hold, 1 otherwise."`
	Trust  trustCmd  `cmd:"" help:"Manage who may sign manifests, and for which URIs (an OpenSSH allowed_signers file plus scopes, in the data dir)."`
	Pins   pinsCmd   `cmd:"" help:"Manage the pinned tool definitions the filter compares tools/list against."`

	Quarantine quarantineCmd `cmd:"" help:"Triage the review queue: what the filter held, and why."`
	Review     reviewCmd     `cmd:"" help:"Serve the reviewers' web UI and API: the quarantine queue, live."`
	Demo       demoCmd       `cmd:"" help:"Show the filter at work on a bundled knowledge base."`
}

// Globals are the flags every command takes.
type Globals struct {
	DataDir  string `name:"data-dir" env:"CTXGUARD_HOME" placeholder:"DIR" help:"Data directory: the store (ctxguard.db) and the search index. Default: $CTXGUARD_HOME, else ~/.local/state/ctxguard."`
	Config   string `name:"config" placeholder:"FILE" type:"existingfile" help:"TOML configuration file (see config/example.toml)."`
	LogLevel string `name:"log-level" default:"info" enum:"debug,info,warn,error" help:"Least severe log level written to stderr (${enum})."`

	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            *config.Config
}

// dataDir returns the data directory, resolving the default.
func (g *Globals) dataDir() (string, error) {
	if g.DataDir != "" {
		return g.DataDir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --data-dir, no $CTXGUARD_HOME and no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "ctxguard"), nil
}

func (g *Globals) logger(json bool) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// exitCode is an error that carries the exit code the command wants; a
// nil-message exitCode exits silently.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

type kongExit struct{ code int }

// Run runs the command line args and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) (code int) {
	var c cli
	c.stdin, c.stdout, c.stderr = m.Stdin, m.Stdout, m.Stderr
	parser, err := kong.New(&c,
		kong.Name("ctxguard"),
		kong.Description("ctxguard guards MCP clients against context poisoning: it sits in front of MCP servers, records the provenance and checksums of everything they return, checks it against the baselines its owners signed, and scores it for prompt injection."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(m.Stdout, m.Stderr),
		kong.Exit(func(code int) { panic(kongExit{code}) }),
	)
	if err != nil {
		fmt.Fprintf(m.Stderr, "ctxguard: %v\n", err)
		return 2
	}
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(kongExit); ok {
				code = e.code
				return
			}
			panic(p)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(m.Stderr, "ctxguard: %v\n", err)
		if pe := (*kong.ParseError)(nil); errors.As(err, &pe) && kctx != nil {
			fmt.Fprintf(m.Stderr, "Run \"ctxguard %s --help\" for usage.\n", strings.TrimSpace(strings.TrimPrefix(kctx.Command(), "<command>")))
		}
		return 2
	}
	if c.cfg, err = config.Load(c.Config); err != nil {
		fmt.Fprintf(m.Stderr, "ctxguard: %v\n", err)
		return 2
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(&c.Globals)
	if err := kctx.Run(); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			if ec.msg != "" {
				fmt.Fprintf(m.Stderr, "ctxguard: %s\n", ec.msg)
			}
			return ec.code
		}
		fmt.Fprintf(m.Stderr, "ctxguard: %v\n", err)
		return 1
	}
	return 0
}
