package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

// netnsScript runs the npm reference server "everything" in its Streamable
// HTTP mode, `ctxguard proxy` in front of it, and the TypeScript SDK client
// script against each, all inside the private network namespace that
// `unshare -rn` gives it: the server listens on all interfaces and on a
// fixed port, so only loopback of a namespace of its own keeps it private
// and the port free.
const netnsScript = `set -eu
ip link set lo up
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done' EXIT
PORT=3001 "$EVERYTHING" streamableHttp > "$WORK/server.log" 2>&1 & pids="$pids $!"
"$CTXGUARD" --data-dir "$DATA" --log-level warn proxy --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3001/mcp > "$WORK/proxy.log" 2>&1 &
proxy=$!; pids="$pids $proxy"
node "$CLIENT" http://127.0.0.1:3001/mcp "$POISON" > "$WORK/direct.json"
node "$CLIENT" http://127.0.0.1:8080/mcp "$POISON" > "$WORK/proxy.json"
kill -TERM $proxy
wait $proxy
`

// needNetns fails the test, naming what to install, when the tools the
// private network namespace needs are missing.
func needNetns(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"unshare", "ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: this test needs it (unshare: util-linux, ip: iproute2, node: nodejs; .ci/run installs them)", tool)
		}
	}
	if out, err := exec.Command("unshare", "-rn", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("cannot make a private network namespace (unshare -rn: unprivileged user namespaces disabled?): %v %s", err, out)
	}
}

type tsStep struct {
	Name   string          `json:"name"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// The npm reference server "everything" over Streamable HTTP, read and
// called by the TypeScript SDK's StreamableHTTPClientTransport, directly
// and through ctxguard proxy: the client sees the same lists, resources,
// tool results and prompts both ways, but for the poisoned echo, which the
// proxy withholds; the records name the TypeScript client and carry the
// checksums of what it decoded.
func TestProxyEverythingTypeScriptClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Node processes in a private network namespace (-short)")
	}
	needNetns(t, "node")
	everything := npmBin(t, "mcp-server-everything")
	client := filepath.Join(repoRoot(t), "tools", "node", "mcp-client.mjs")
	work, data := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "sh", "-c", netnsScript)
	cmd.Env = append(os.Environ(), "EVERYTHING="+everything, "CTXGUARD="+ctxguardBin, "CLIENT="+client,
		"DATA="+data, "WORK="+work, "POISON="+poisonedDoc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		for _, f := range []string{"server.log", "proxy.log"} {
			b, _ := os.ReadFile(filepath.Join(work, f))
			t.Logf("%s:\n%s", f, b)
		}
		t.Fatalf("the session in the namespace failed: %v\n%s", err, out)
	}
	steps := func(way string) []tsStep {
		b, err := os.ReadFile(filepath.Join(work, way+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Steps []tsStep }
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: the client printed %q: %v", way, b, err)
		}
		return r.Steps
	}
	direct, proxied := steps("direct"), steps("proxy")
	if len(direct) != len(proxied) || len(direct) < 10 {
		t.Fatalf("%d steps directly, %d through the proxy", len(direct), len(proxied))
	}
	var poisonedDirect, poisonedProxy string
	for i, d := range direct {
		p := proxied[i]
		if d.Error != "" || p.Error != "" {
			t.Errorf("%s: error directly %q, through the proxy %q", d.Name, d.Error, p.Error)
			continue
		}
		if d.Name == "tools/call echo poison" {
			poisonedDirect, poisonedProxy = string(d.Result), string(p.Result)
			continue
		}
		if !jsonEqual(d.Result, p.Result) {
			t.Errorf("%s differs through the proxy:\ndirect: %s\nproxy:  %s", d.Name, d.Result, p.Result)
		}
	}
	if !strings.Contains(poisonedDirect, "DE02 1203") || strings.Contains(poisonedProxy, "DE02") || !strings.Contains(poisonedProxy, "withheld for review") {
		t.Errorf("poisoned echo: directly %s, through the proxy %s", poisonedDirect, poisonedProxy)
	}

	// What the client decoded, by checksum, against the records.
	want := map[string]string{} // step → SHA-256 of the content the client got
	for _, s := range proxied {
		switch s.Name {
		case "resources/read architecture.md", "resources/read structure.md":
			var r struct{ Contents []struct{ Text string } }
			json.Unmarshal(s.Result, &r)
			want[s.Name] = sha256Hex([]byte(r.Contents[0].Text))
		case "tools/call get-tiny-image":
			var r struct{ Content []struct{ Type, Data string } }
			json.Unmarshal(s.Result, &r)
			for _, c := range r.Content {
				if c.Type == "image" {
					b, err := base64.StdEncoding.DecodeString(c.Data)
					if err != nil {
						t.Fatal(err)
					}
					want[s.Name] = sha256Hex(b)
				}
			}
		}
	}
	if len(want) != 3 {
		t.Fatalf("the client did not get two documents and an image: %v", want)
	}
	seen := map[string]bool{}
	var withheld int
	for _, r := range readRecords(t, data) {
		if r.Transport != "streamable-http" || r.Server != "127.0.0.1:3001" {
			t.Fatalf("record origin %+v", r.Origin)
		}
		if r.Message == "response" && r.Method != "initialize" && r.Client.Name != "ts-sdk-client" {
			t.Errorf("record of %s names client %+v", r.Method, r.Client)
		}
		seen[r.SHA256] = true
		if r.Withheld && r.Tool == "echo" && r.Decision == ctxguard.DecisionQuarantine {
			withheld++
		}
	}
	for step, s := range want {
		if !seen[s] {
			t.Errorf("%s: no record with the checksum of what the client decoded (%s)", step, s)
		}
	}
	if withheld != 1 {
		t.Errorf("%d withheld echo records, want 1", withheld)
	}
	if items := queueItems(t, data); len(items) != 1 || items[0].Tool != "echo" {
		t.Errorf("queue: %+v", items)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// jsonEqual compares two JSON values whatever their key order and spacing.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
