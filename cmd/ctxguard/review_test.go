package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ctxguard/ctxguard"
)

// runReview runs the program's command line args in-process with the
// given streams.
func runReview(ctx context.Context, stdout, stderr io.Writer, args ...string) int {
	m := &Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}
	return m.Run(ctx, args)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	ritaToken = "rita-review-token-0123456789"
	samToken  = "sam-review-token-9876543210"
)

func TestReviewRefusesBadSetups(t *testing.T) {
	t.Setenv("CTXGUARD_TEST_REVIEW_TOKEN", ritaToken)
	t.Setenv("CTXGUARD_TEST_SHORT_TOKEN", "short")
	data := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", "0.0.0.0:0"}, "--allow-remote"},
		{"no host", []string{"--listen", ":0"}, "is not a loopback address"},
		{"IPv6 any", []string{"--listen", "[::]:0"}, "--allow-remote"},
		{"a LAN address", []string{"--listen", "192.168.1.10:7878"}, "--allow-remote"},
		{"a name", []string{"--listen", "review.example:7878"}, "--allow-remote"},
		{"no port", []string{"--listen", "127.0.0.1"}, "missing port"},
		{"no reviewers", []string{"--listen", "127.0.0.1:0"}, "no reviewers"},
		{"token without a name", []string{"--listen", "127.0.0.1:0", "--token-env", "CTXGUARD_TEST_REVIEW_TOKEN"}, "--reviewer NAME"},
		{"name without a token", []string{"--listen", "127.0.0.1:0", "--reviewer", "rita"}, "--token-env"},
		{"short token", []string{"--listen", "127.0.0.1:0", "--reviewer", "rita", "--token-env", "CTXGUARD_TEST_SHORT_TOKEN"}, "at least 16 characters"},
		{"unset token", []string{"--listen", "127.0.0.1:0", "--reviewer", "rita", "--token-env", "CTXGUARD_TEST_UNSET"}, "at least 16 characters"},
		{"half TLS", []string{"--listen", "127.0.0.1:0", "--reviewer", "rita", "--token-env", "CTXGUARD_TEST_REVIEW_TOKEN", "--tls-cert", "review_test.go"}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := runReview(ctx, &out, &errb, append([]string{"--data-dir", data, "review"}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stdout %q, stderr %q)", code, out.String(), errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errb.String(), tc.want)
			}
			if strings.Contains(errb.String(), ritaToken) {
				t.Errorf("the error shows the token")
			}
		})
	}
}

// startReview runs ctxguard review until the test ends and returns its
// base URL.
func startReview(t *testing.T, args ...string) (string, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan struct{})
	code := 0
	go func() {
		defer close(done)
		code = runReview(ctx, &out, &errb, args...)
	}()
	stop := func() int {
		cancel()
		select {
		case <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatalf("ctxguard review did not stop; stderr: %s", errb.String())
			return -1
		}
	}
	t.Cleanup(func() { cancel(); <-done })
	re := regexp.MustCompile(`ctxguard review: (http://127\.0\.0\.1:\d+)/ \(reviewers: ([^)]*)\)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], &errb, stop
		}
		select {
		case <-done:
			t.Fatalf("ctxguard review exited %d: %s %s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctxguard review printed no URL: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getJSON(t *testing.T, req *http.Request, v any) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

func apiReq(t *testing.T, method, url, token string, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// The review server against the real filter: reviewers from the config
// file and from --token-env, a poisoned document read through ctxguard
// wrap (another process on the same data directory) shows up on the
// websocket and in a full-text search, a release through the API lets the
// client read it, and the server stops cleanly.
func TestReviewServesTheFilterQueue(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "ctxguard.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[review]\nlisten = \"127.0.0.1:0\"\n\n[[review.reviewers]]\nname = \"rita\"\ntoken = %q\n", ritaToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTXGUARD_TEST_REVIEW_TOKEN", samToken)
	base, stderr, stop := startReview(t, "--data-dir", data, "--config", cfg, "review", "--reviewer", "sam", "--token-env", "CTXGUARD_TEST_REVIEW_TOKEN", "--poll-interval", "50ms")

	for token, name := range map[string]string{ritaToken: "rita", samToken: "sam"} {
		var who struct{ Reviewer string }
		if code := getJSON(t, apiReq(t, http.MethodGet, base+"/api/whoami", token, ""), &who); code != http.StatusOK || who.Reviewer != name {
			t.Errorf("whoami: %d %+v, want %s", code, who, name)
		}
	}
	if code := getJSON(t, apiReq(t, http.MethodGet, base+"/api/whoami", "wrong-wrong-wrong-wrong", ""), nil); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	// On loopback, a page on another name (DNS rebinding) gets nothing.
	req := apiReq(t, http.MethodGet, base+"/api/whoami", ritaToken, "")
	req.Host = "rebind.example" + strings.TrimPrefix(base, "http://127.0.0.1")
	if code := getJSON(t, req, nil); code != http.StatusMisdirectedRequest {
		t.Errorf("request for another host name: %d, want 421", code)
	}
	req = apiReq(t, http.MethodGet, strings.Replace(base, "127.0.0.1", "localhost", 1)+"/api/whoami", ritaToken, "")
	if code := getJSON(t, req, nil); code != http.StatusOK {
		t.Errorf("request for localhost: %d", code)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/live", http.Header{"Authorization": {"Bearer " + samToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	kb, _ := writeKB(t, map[string]string{"supplier.md": poisonedDoc, "clean.md": sampleDocs["handbook.md"]})
	cs := connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...))
	res, err := read(t, cs, "file:///kb/supplier.md")
	if err != nil || !strings.Contains(res.Contents[0].Text, "withheld for review") {
		t.Fatalf("the filter did not hold the poisoned document: %v %v", res, err)
	}

	// The filter's hold reaches the websocket.
	var id string
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for id == "" {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no live message for the held document: %v", err)
		}
		var m struct {
			Type string
			Item struct {
				ID, URI, Server string
				Status          ctxguard.QuarantineStatus
			}
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "item" && m.Item.URI == "file:///kb/supplier.md" && m.Item.Status == ctxguard.StatusPending && m.Item.Server == "kb" {
			id = m.Item.ID
		}
	}
	if !strings.Contains(res.Contents[0].Text, id) {
		t.Errorf("the placeholder %q does not name the queued item %s", res.Contents[0].Text, id)
	}

	// The full-text index finds it by a word of its content.
	var found struct {
		Mode  string
		Items []struct{ ID string }
	}
	end := time.Now().Add(20 * time.Second)
	for len(found.Items) == 0 {
		if time.Now().After(end) {
			t.Fatalf("the search never found the item: %+v; stderr: %s", found, stderr.String())
		}
		getJSON(t, apiReq(t, http.MethodGet, base+"/api/items?q=Bremen", ritaToken, ""), &found)
		time.Sleep(20 * time.Millisecond)
	}
	if found.Mode != "search" || found.Items[0].ID != id {
		t.Errorf("search: %+v, want the item from the full-text index", found)
	}

	// Released through the API, attributed to the token's reviewer, the
	// client gets the document.
	var rel struct {
		Item   ctxguard.QuarantineItem
		Rescan string
	}
	if code := getJSON(t, apiReq(t, http.MethodPost, base+"/api/items/"+id+"/release", samToken, `{"note":"checked with Acme","reviewer":"rita"}`), &rel); code != http.StatusOK {
		t.Fatalf("release: %d", code)
	}
	if h := rel.Item.History; len(h) == 0 || h[len(h)-1].Action != "release" || h[len(h)-1].Reviewer != "sam" || !strings.HasPrefix(rel.Rescan, "re-scanned") {
		t.Errorf("release: %+v %q", h, rel.Rescan)
	}
	if res, err := read(t, cs, "file:///kb/supplier.md"); err != nil || res.Contents[0].Text != poisonedDoc {
		t.Errorf("after the release the client got %v %v", res, err)
	}

	if code := stop(); code != 0 {
		t.Errorf("exit %d after the context ended: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("stderr: %q", stderr.String())
	}
	// The websocket was closed by the server, not left hanging.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("the websocket is still open after the server stopped")
			}
			break
		}
	}
}
