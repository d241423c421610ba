package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/stdio"
	"github.com/ctxguard/ctxguard/internal/gctune"
)

type wrapCmd struct {
	filterFlags
	Name            string        `name:"name" placeholder:"SERVER" help:"Name of the server in the records. Default: the command's name (for npx, node, uvx and python: its first argument)."`
	Durability      string        `name:"durability" enum:"strict,relaxed," default:"" help:"When a record counts as stored: strict (fsynced before the response is forwarded; the default) or relaxed (in the OS cache: survives a crash of ctxguard, not a power loss)."`
	MaxMessageBytes int           `name:"max-message-bytes" placeholder:"N" help:"Largest JSON-RPC message either way (default 64 MiB). A larger response is withheld and its request answered with an error."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" placeholder:"DURATION" help:"How long the server has to exit after the client leaves, before SIGTERM and then SIGKILL (default 5s)."`
	Command         []string      `arg:"" passthrough:"" name:"command" help:"The server's command line, after --."`
	CPUProfile      string        `name:"cpuprofile" hidden:"" type:"path" help:"Write a CPU profile of the filter to this file."`
	MemProfile      string        `name:"memprofile" hidden:"" type:"path" help:"Write an allocation profile of the filter to this file at exit."`
}

func (c *wrapCmd) Run(ctx context.Context, g *Globals) error {
	cmdline := c.Command
	if len(cmdline) > 0 && cmdline[0] == "--" {
		cmdline = cmdline[1:]
	}
	if len(cmdline) == 0 {
		return exitCode{2, "wrap: no server command; usage: ctxguard wrap [flags] -- CMD [ARGS...]"}
	}
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	defer gctune.Tune(wrapMemoryLimit, wrapHeadroom)()
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if c.MemProfile != "" {
		defer writeAllocProfile(c.MemProfile, g.stderr)
	}
	db, err := openFilterStore(g, dir, c.Durability)
	if err != nil {
		return err
	}
	defer db.Close()

	log := g.logger(true)
	f, err := c.newFilter(ctx, g, dir, db, log, nil)
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = serverName(cmdline)
	}
	sess := filter.NewSession(name, "stdio", newSessionID())
	sess.MaxPending = g.cfg.Filter.MaxPending

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// A client that stops reading must not kill ctxguard with SIGPIPE in
	// the middle of a write (Go's default on descriptors 1 and 2): with a
	// handler the write fails with EPIPE, and the relay stops the server
	// and says why. A handler, not signal.Ignore, so that the server does
	// not inherit an ignored SIGPIPE.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	res, err := stdio.Run(ctx, stdio.Options{
		Command:         cmdline,
		Filter:          f,
		Session:         sess,
		Stdin:           g.stdin,
		Stdout:          g.stdout,
		Stderr:          g.stderr,
		Signals:         sigs,
		MaxFrame:        firstPositive(c.MaxMessageBytes, g.cfg.Filter.MaxMessageBytes),
		ShutdownTimeout: firstPositive(c.ShutdownTimeout, g.cfg.Filter.ShutdownTimeout.Duration),
		Logger:          log,
	})
	if err != nil {
		return exitCode{127, err.Error()}
	}
	if res.ServerExited {
		code := res.ExitCode
		if code == 0 && res.Unanswered > 0 {
			code = 1
		}
		return exitCode{code, fmt.Sprintf("wrap: the server %q exited (exit code %d) while the client was connected; %d pending request(s) answered with an error",
			name, res.ExitCode, res.Unanswered)}
	}
	if res.ExitCode != 0 {
		return exitCode{res.ExitCode, ""}
	}
	return nil
}

// serverName names a server after its command: "npx -y @scope/server-x"
// is "@scope/server-x", not "npx".
func serverName(cmdline []string) string {
	name := filepath.Base(cmdline[0])
	switch strings.TrimSuffix(name, ".exe") {
	case "npx", "node", "uvx", "uv", "python", "python3", "deno", "bun", "bunx", "pipx", "go":
		for _, a := range cmdline[1:] {
			if !strings.HasPrefix(a, "-") && a != "run" {
				return a
			}
		}
	}
	return name
}

func newSessionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstPositive[T int | time.Duration](v ...T) T {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeAllocProfile writes the allocations made since the start, for
// ctxguard-bench and for whoever chases the filter's garbage.
func writeAllocProfile(path string, stderr io.Writer) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ctxguard: memprofile: %v\n", err)
	}
}

// Memory for gctune.Tune: wrap runs beside every stdio server a client
// starts, so it stays small (a peak RSS under 100 MB with 1 MB documents).
//
// The headroom is small on purpose. With 32 MiB, a 64 KB read's large
// buffers came from pages the runtime had given back to the kernel: four
// page faults per read, and side by side (ctxguard-bench -against) 718 µs
// added p50 against 264 µs with 8 MiB, at the same p99 and the same
// in-process tail (BenchmarkProcessLatency). With the detectors' tables in
// the heap the memory limit paces the collector anyway.
const (
	wrapMemoryLimit = 64 << 20
	wrapHeadroom    = 8 << 20
)
