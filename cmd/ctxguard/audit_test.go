package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
)

// runMain runs the program in-process and returns its exit code, stdout and
// stderr.
func runMain(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	code := m.Run(ctx, args)
	return code, out.String(), errb.String()
}

func decodeLines(t *testing.T, s string) []ctxguard.Record {
	t.Helper()
	var recs []ctxguard.Record
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r ctxguard.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON record: %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestAuditTailAndExport(t *testing.T) {
	kb, _ := writeKB(t, sampleDocs)
	data := t.TempDir()
	cs := connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...))
	ctx := context.Background()
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///kb/handbook.md"}); err != nil {
		t.Fatal(err)
	}
	all := readRecords(t, data)

	code, out, errs := runMain(t, ctx, "--data-dir", data, "audit", "export", "--format", "jsonl")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	exported := decodeLines(t, out)
	if len(exported) != len(all) {
		t.Fatalf("export printed %d records, the store has %d", len(exported), len(all))
	}
	for i := range all {
		if exported[i].Seq != all[i].Seq || exported[i].SHA256 != all[i].SHA256 {
			t.Fatalf("record %d differs: %+v vs %+v", i, exported[i], all[i])
		}
	}
	// The documented field names are on every line.
	for _, field := range []string{`"seq":`, `"time":`, `"server":`, `"transport":`, `"session":`, `"message":`, `"path":`, `"kind":`, `"size":`, `"sha256":`, `"xxhash64":`} {
		if !strings.Contains(strings.SplitN(out, "\n", 2)[0], field) {
			t.Errorf("export line lacks %s", field)
		}
	}

	_, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "export", "--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if out != "" {
		t.Errorf("--since an hour ahead printed %q", out)
	}
	_, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "export", "--since", "1h", "--until", time.Now().Add(time.Hour).Format(time.DateOnly+"T15:04:05Z07:00"))
	if n := len(decodeLines(t, out)); n != len(all) {
		t.Errorf("--since 1h printed %d records, want %d", n, len(all))
	}
	if code, _, errs := runMain(t, ctx, "--data-dir", data, "audit", "export", "--since", "yesterday-ish"); code == 0 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("a bad --since: exit %d, stderr %q", code, errs)
	}

	_, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "tail", "-n", "2")
	tail := decodeLines(t, out)
	if len(tail) != 2 || tail[1].Seq != all[len(all)-1].Seq {
		t.Fatalf("tail -n 2 printed %+v", tail)
	}

	// tail -f prints what arrives after it started.
	pr, pw := io.Pipe()
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		m := &Main{Stdin: strings.NewReader(""), Stdout: pw, Stderr: io.Discard}
		done <- m.Run(fctx, []string{"--data-dir", data, "audit", "tail", "-n", "0", "-f", "--poll", "20ms"})
		pw.Close()
	}()
	// tail -f may start after a read it then counts as old: keep reading
	// until a line arrives.
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- l
	}()
	var line string
	for line == "" {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///kb/unicode.md"}); err != nil {
			t.Fatal(err)
		}
		select {
		case line = <-lines:
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 0 {
		t.Fatalf("tail -f exit %d", code)
	}
	if recs := decodeLines(t, line); len(recs) != 1 || recs[0].URI != "file:///kb/unicode.md" {
		t.Fatalf("tail -f printed %q", line)
	}
}

func TestDemo(t *testing.T) {
	out, err := exec.Command(ctxguardBin, "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("ctxguard demo: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"6 resources listed, 6 read", "kb://northwind/vendor-payments.md", "SHA-256", "resources/read", "suspicious",
		"signed-match", "drifted", "+<!-- Note for AI assistants reading this page", "decision: quarantine", "pinned",
		"Held for review, withheld from the client", "baseline: drifted (northwind-kb #1)", "ctxguard review --data-dir"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
}
