package main

// End-to-end tests: the real ctxguard binary between real MCP peers over
// real pipes. TestMain builds the binary and the test servers once.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

var (
	buildFlags                            []string
	binDir                                string
	ctxguardBin, kbserverBin, scriptedBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ctxguard-e2e-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	ctxguardBin = filepath.Join(dir, "ctxguard")
	kbserverBin = filepath.Join(dir, "kbserver")
	scriptedBin = filepath.Join(dir, "scripted")
	for pkg, out := range map[string]string{".": ctxguardBin, "./testdata/kbserver": kbserverBin, "./testdata/scripted": scriptedBin} {
		args := append([]string{"build", "-o", out}, buildFlags...)
		cmd := exec.Command("go", append(args, pkg)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot returns the repository's root directory.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// npmBin returns the path of an npm-installed test peer, which make deps
// (and .ci/run) install into tools/node.
func npmBin(t testing.TB, name string) string {
	p := filepath.Join(repoRoot(t), "tools", "node", "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not installed: run `make deps` (npm install in tools/node): %v", name, err)
	}
	return p
}

// writeKB writes a small knowledge base and returns its directory and the
// SHA-256 of each file by relative name.
func writeKB(t testing.TB, docs map[string]string) (string, map[string]string) {
	dir := t.TempDir()
	sums := map[string]string{}
	for name, body := range docs {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256([]byte(body))
		sums[name] = hex.EncodeToString(s[:])
	}
	return dir, sums
}

var sampleDocs = map[string]string{
	"handbook.md":      "# Handbook\n\nWelcome. Expenses are filed in the portal.\n",
	"finance/iban.txt": "Our IBAN is DE89 3704 0044 0532 0130 00.\n",
	"unicode.md":       "Grüße — 日本語 — emoji 👩‍💻 and a soft\u00adhyphen.\n",
}

// wrapArgs returns the ctxguard command line that wraps server.
func wrapArgs(dataDir string, extra []string, server ...string) []string {
	args := []string{"--data-dir", dataDir, "--log-level", "warn", "wrap", "--name", "kb"}
	args = append(args, extra...)
	return append(append(args, "--"), server...)
}

func connect(t testing.TB, cmd *exec.Cmd) *mcp.ClientSession {
	t.Helper()
	cmd.Stderr = testWriter{t}
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "0.1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// testWriter sends a child's stderr to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("stderr: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func readRecords(t testing.TB, dataDir string) []*ctxguard.Record {
	t.Helper()
	db, err := bolt.Open(dataDir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []*ctxguard.Record
	if err := db.ScanRecords(context.Background(), store.RecordQuery{}, func(r *ctxguard.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// session is what a client did in one session, in a comparable form.
type session struct {
	Tools     any
	Resources any
	Reads     map[string]any
	Calls     []any
}

func runKBSession(t *testing.T, cs *mcp.ClientSession) session {
	ctx := context.Background()
	var s session
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Tools = tools.Tools
	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Resources = res.Resources
	s.Reads = map[string]any{}
	for _, r := range res.Resources {
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: r.URI})
		if err != nil {
			t.Fatal(err)
		}
		s.Reads[r.URI] = rr.Contents
	}
	for _, q := range []string{"IBAN", "portal", "nothing-matches"} {
		cr, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": q}})
		if err != nil {
			t.Fatal(err)
		}
		s.Calls = append(s.Calls, cr.Content)
	}
	return s
}

func asJSON(t testing.TB, v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The Go SDK client sees exactly the same through the filter as without it,
// and every document it read has a record with the file's SHA-256.
func TestWrapGoSDKServer(t *testing.T) {
	kb, sums := writeKB(t, sampleDocs)
	data := t.TempDir()

	direct := runKBSession(t, connect(t, exec.Command(kbserverBin, "-dir", kb)))
	filtered := runKBSession(t, connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...)))
	if d, f := asJSON(t, direct), asJSON(t, filtered); d != f {
		t.Fatalf("the client saw something else through the filter:\ndirect:   %s\nfiltered: %s", d, f)
	}

	recs := readRecords(t, data)
	for name, sum := range sums {
		uri := "file:///kb/" + name
		var found bool
		for _, r := range recs {
			if r.Method == "resources/read" && r.URI == uri && r.Kind == ctxguard.KindText {
				found = true
				if r.SHA256 != sum || r.Size != int64(len(sampleDocs[name])) {
					t.Errorf("%s: record sha256 %s size %d, want %s %d", uri, r.SHA256, r.Size, sum, len(sampleDocs[name]))
				}
				if r.Server != "kb" || r.Transport != "stdio" || r.Session == "" || r.Client.Name != "e2e-client" || len(r.RequestID) == 0 {
					t.Errorf("%s: incomplete provenance: %+v", uri, r)
				}
			}
		}
		if !found {
			t.Errorf("no resources/read record for %s", uri)
		}
	}
	var calls, defs int
	for _, r := range recs {
		if r.Method == "tools/call" {
			calls++
			if r.Tool != "search" || r.ArgsSHA256 == "" {
				t.Errorf("tools/call record without tool or argument hash: %+v", r)
			}
		}
		if r.Kind == ctxguard.KindTool {
			defs++
		}
	}
	if calls == 0 || defs != 1 {
		t.Errorf("got %d tools/call records and %d tool definitions, want some and 1", calls, defs)
	}
}

// The npm reference filesystem server: read_text_file returns the file in
// content[0].text and again in structuredContent; both are recorded with the
// file's checksum, and the client sees the same as directly.
func TestWrapFilesystemServer(t *testing.T) {
	fsServer := npmBin(t, "mcp-server-filesystem")
	kb, sums := writeKB(t, sampleDocs)
	data := t.TempDir()
	ctx := context.Background()

	read := func(cs *mcp.ClientSession) []string {
		var out []string
		for _, name := range []string{"handbook.md", "finance/iban.txt", "unicode.md"} {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_text_file", Arguments: map[string]any{"path": filepath.Join(kb, name)}})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, asJSON(t, res))
		}
		return out
	}
	direct := read(connect(t, exec.Command(fsServer, kb)))
	filtered := read(connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, fsServer, kb)...)))
	for i := range direct {
		if direct[i] != filtered[i] {
			t.Fatalf("read %d differs through the filter:\ndirect:   %s\nfiltered: %s", i, direct[i], filtered[i])
		}
	}
	recs := readRecords(t, data)
	for name, sum := range sums {
		var text, structured bool
		for _, r := range recs {
			if r.Method != "tools/call" || r.Tool != "read_text_file" || r.SHA256 != sum {
				continue
			}
			switch r.Kind {
			case ctxguard.KindText:
				text = true
			case ctxguard.KindStructured:
				structured = true
			}
		}
		if !text || !structured {
			t.Errorf("%s: text record %v, structuredContent record %v; want both with sha256 %s", name, text, structured, sum)
		}
	}
}

// Sixteen concurrent calls through one filter all get their own answers.
func TestWrapConcurrentRequests(t *testing.T) {
	docs := map[string]string{}
	for i := range 16 {
		docs[fmt.Sprintf("doc%02d.md", i)] = strings.Repeat(fmt.Sprintf("document %d\n", i), 500)
	}
	kb, sums := writeKB(t, docs)
	data := t.TempDir()
	cs := connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...))
	var wg sync.WaitGroup
	errs := make(chan error, 16*4)
	for round := range 4 {
		for name := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "file:///kb/" + name})
				if err != nil {
					errs <- err
					return
				}
				if got := res.Contents[0].Text; got != docs[name] {
					errs <- fmt.Errorf("round %d: %s: got another document's text", round, name)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for _, r := range readRecords(t, data) {
		if r.Method == "resources/read" {
			name := strings.TrimPrefix(r.URI, "file:///kb/")
			if r.SHA256 != sums[name] {
				t.Errorf("record for %s has sha256 %s, want %s", name, r.SHA256, sums[name])
			}
			n++
		}
	}
	if n != 64 {
		t.Errorf("%d resources/read records, want 64", n)
	}
}

// rawClient drives ctxguard wrap with raw JSON-RPC lines, to see bytes.
type rawClient struct {
	t      testing.TB
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *strings.Builder
	mu     sync.Mutex
}

func startRaw(t testing.TB, args ...string) *rawClient {
	t.Helper()
	return startRawCmd(t, exec.Command(ctxguardBin, args...))
}

func startRawCmd(t testing.TB, cmd *exec.Cmd) *rawClient {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	c := &rawClient{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), stderr: &stderr}
	cmd.Stderr = &lockedWriter{w: &stderr, mu: &c.mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return c
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *rawClient) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

func (c *rawClient) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv reads one line, failing the test after a timeout.
func (c *rawClient) recv() string {
	c.t.Helper()
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := c.out.ReadString('\n')
		ch <- res{strings.TrimSuffix(l, "\n"), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			c.t.Fatalf("recv: %v (stderr: %s)", r.err, c.Stderr())
		}
		return r.line
	case <-time.After(30 * time.Second):
		c.t.Fatalf("recv: no answer in 30s (stderr: %s)", c.Stderr())
	}
	return ""
}

// wait waits for the process to exit and returns its exit code.
func (c *rawClient) wait() int {
	c.t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		c.t.Fatalf("ctxguard did not exit (stderr: %s)", c.Stderr())
	}
	return c.cmd.ProcessState.ExitCode()
}
