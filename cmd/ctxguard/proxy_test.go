package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/demo"
)

// ctxguard proxy, the binary, in front of a Go SDK Streamable HTTP server:
// the Go SDK's streamable client reads through it, a poisoned page is
// withheld and queued, the records say streamable-http, /healthz answers,
// and SIGTERM stops it cleanly.
func TestProxyBinary(t *testing.T) {
	kb, _ := writeKB(t, map[string]string{"clean.md": sampleDocs["handbook.md"], "supplier.md": poisonedDoc})
	srv, err := demo.NewServer(os.DirFS(kb), "file:///kb/")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer up.Close()

	data := t.TempDir()
	cmd := exec.Command(ctxguardBin, "--data-dir", data, "--log-level", "warn", "proxy", "--listen", "127.0.0.1:0", "--upstream", "kb="+up.URL+"/mcp")
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no address from the proxy: %v", err)
	}
	m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/kb/mcp`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("proxy printed %q", line)
	}
	base := "http://" + m[1]

	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "proxy-client", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/kb/mcp", DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{"file:///kb/clean.md": sampleDocs["handbook.md"], "file:///kb/supplier.md": ""} {
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Contents[0].Text
		if want == "" && (!strings.Contains(got, "withheld for review") || strings.Contains(got, "DE02")) || want != "" && got != want {
			t.Fatalf("%s through the proxy: %q", uri, got)
		}
	}
	cs.Close()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ctxguard_items_total{decision="quarantine",kind="text",verdict="suspicious"} 1`,
		`ctxguard_quarantine_items{status="pending"} 1`, `ctxguard_proxy_requests_total{code="200",method="post"}`, "ctxguard_filter_seconds_bucket"} {
		if !strings.Contains(string(mb), want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, mb)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("proxy exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy did not stop after SIGTERM")
	}
	var reads int
	for _, r := range readRecords(t, data) {
		if r.Method == "resources/read" && r.Kind == ctxguard.KindText {
			reads++
			if r.Transport != "streamable-http" || r.Server != "kb" || r.Client.Name != "proxy-client" {
				t.Fatalf("record origin %+v", r.Origin)
			}
		}
	}
	if reads != 2 {
		t.Fatalf("%d resources/read records, want 2", reads)
	}
	if items := queueItems(t, data); len(items) != 1 || items[0].URI != "file:///kb/supplier.md" {
		t.Fatalf("queue: %+v", items)
	}
}

// The [proxy] section of the config file stands in for the flags; without
// either, the command says what it needs.
func TestProxyFromConfig(t *testing.T) {
	if code, _, errs := runMain(t, context.Background(), "--data-dir", t.TempDir(), "proxy"); code != 2 || !strings.Contains(errs, "--listen") {
		t.Fatalf("proxy without listen or upstream: %d %s", code, errs)
	}
	srv, err := demo.NewServer(os.DirFS(t.TempDir()), "file:///kb/")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer up.Close()
	cfg := filepath.Join(t.TempDir(), "ctxguard.toml")
	os.WriteFile(cfg, []byte("[proxy]\nlisten = \"127.0.0.1:0\"\nupstreams = [\"wiki="+up.URL+"/mcp\"]\n"), 0o600)
	cmd := exec.Command(ctxguardBin, "--config", cfg, "--data-dir", t.TempDir(), "proxy")
	cmd.Stderr = testWriter{t}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !regexp.MustCompile(`http://127\.0\.0\.1:\d+/wiki/mcp`).MatchString(line) {
		t.Fatalf("proxy from the config printed %q (%v)", line, err)
	}
}
