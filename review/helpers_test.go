package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
	"github.com/ctxguard/ctxguard/store/bolt"
)

const (
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-fedcba9876543210xyz"
)

// fixture is a review server over real HTTP on a real bolt store, and a
// second handle on the same data directory, as a filter process has.
type fixture struct {
	dir    string
	db     *bolt.DB // the server's
	filter *bolt.DB // another handle, as ctxguard wrap would have
	srv    *Server
	ts     *httptest.Server
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	itemSeq    atomic.Int64
	engineOnce sync.Once
	engine     *detectors.Engine
)

func testEngine(t testing.TB) *detectors.Engine {
	engineOnce.Do(func() {
		var err error
		if engine, err = defaults.Engine(detectors.Config{}, defaults.Options{}); err != nil {
			panic(err)
		}
	})
	return engine
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), logs: &syncBuffer{}}
	var err error
	if f.db, err = bolt.Open(f.dir, bolt.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if f.filter, err = bolt.Open(f.dir, bolt.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.filter.Close() })
	opts := Options{
		Queue:        f.db,
		Engine:       testEngine(t),
		Reviewers:    []config.Reviewer{{Name: "alice", Token: aliceToken}, {Name: "bob", Token: bobToken}},
		Logger:       slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 20 * time.Millisecond,
		LoginDelay:   50 * time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	if f.srv, err = New(opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.srv.Close() })
	f.ts = httptest.NewServer(f.srv)
	t.Cleanup(f.ts.Close)
	return f
}

// hold queues items through the other handle, as a filter would.
func (f *fixture) hold(t testing.TB, items ...*ctxguard.QuarantineItem) {
	t.Helper()
	if err := f.filter.Hold(context.Background(), items); err != nil {
		t.Fatal(err)
	}
}

func testItem(content string) *ctxguard.QuarantineItem {
	return &ctxguard.QuarantineItem{
		Server:      "kb",
		URI:         "file:///kb/doc.md",
		SHA256:      fmt.Sprintf("%064x", itemSeq.Add(1)),
		Score:       0.9,
		Content:     content,
		ContentSize: int64(len(content)),
		Findings:    []ctxguard.Finding{{Detector: "phrases", Rule: "ignore-previous", Severity: ctxguard.SeverityHigh, Start: 0, End: min(len(content), 6)}},
		Reasons:     []string{"detectors: score 0.90"},
		Withheld:    true,
		Record:      ctxguard.Record{Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Message: "response", Method: "resources/read", URI: "file:///kb/doc.md"}},
	}
}

// browser is a reviewer's HTTP client: it keeps cookies and sends the
// headers a browser sends on this origin.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string
}

func (f *fixture) client(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.ts.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in with token and reads the CSRF token.
func (f *fixture) login(t testing.TB, token string) *browser {
	t.Helper()
	b := f.client(t)
	res := b.postForm("/login", url.Values{"token": {token}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %s", res.Status)
	}
	var who struct {
		Reviewer  string `json:"reviewer"`
		CSRFToken string `json:"csrf_token"`
	}
	b.getJSON("/api/whoami", &who)
	if who.CSRFToken == "" {
		t.Fatal("whoami gave no CSRF token to a session")
	}
	b.csrf = who.CSRFToken
	return b
}

func (b *browser) do(req *http.Request) *http.Response {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res
}

func (b *browser) req(method, path string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return req
}

func (b *browser) get(path string) *http.Response {
	return b.do(b.req(http.MethodGet, path, nil))
}

func (b *browser) getJSON(path string, v any) {
	b.t.Helper()
	res := b.get(path)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %s: %s", path, res.Status, readAll(res))
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
}

func (b *browser) postForm(path string, v url.Values) *http.Response {
	req := b.req(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postJSON posts v with the session's CSRF token.
func (b *browser) postJSON(path string, v any) *http.Response {
	body, _ := json.Marshal(v)
	req := b.req(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	return b.do(req)
}

func readAll(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// bearer returns a request with a bearer token, as a script sends.
func bearer(t testing.TB, method, url, token string, body any) *http.Request {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// dialLive opens the websocket with b's cookies and the given Origin
// ("" for none).
func (f *fixture) dialLive(t testing.TB, b *browser, origin string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if b != nil {
		d.Jar = b.c.Jar
	}
	conn, res, err := d.Dial("ws"+strings.TrimPrefix(f.ts.URL, "http")+"/api/live", hdr)
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, res, err
}

// waitFor reads live messages until one for id has status want, or fails
// after the deadline.
func waitFor(t testing.TB, conn *websocket.Conn, id string, want ctxguard.QuarantineStatus, deadline time.Duration) liveMessage {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(deadline))
	defer conn.SetReadDeadline(time.Time{})
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s to be %s on the websocket: %v", id, want, err)
		}
		var m liveMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("live message %q: %v", b, err)
		}
		if m.Type == "item" && m.Item != nil && m.Item.ID == id && m.Item.Status == want {
			return m
		}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("gave up after %s waiting for %s", deadline, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
