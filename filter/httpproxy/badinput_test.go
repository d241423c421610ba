package httpproxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/filtertest"
	"github.com/ctxguard/ctxguard/filter/httpproxy"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// rawProxy puts a filter with no inspectors in front of handler.
func rawProxy(t *testing.T, handler http.Handler, timeout time.Duration) *httptest.Server {
	t.Helper()
	return proxyWith(t, handler, timeout)
}

// streamProxy puts a filter in front of handler that holds content with
// "EVIL" in it.
func streamProxy(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	return proxyWith(t, handler, 0, filtertest.Marker{Word: "EVIL"})
}

func proxyWith(t *testing.T, handler http.Handler, timeout time.Duration, inspectors ...filter.Stage) *httptest.Server {
	t.Helper()
	return proxyOpts(t, handler, httpproxy.Options{UpstreamTimeout: timeout}, inspectors...)
}

// proxyOpts is proxyWith with options of the test's (its upstream and
// filter are set here).
func proxyOpts(t *testing.T, handler http.Handler, opts httpproxy.Options, inspectors ...filter.Stage) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(handler)
	t.Cleanup(up.Close)
	db, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pol := &policy.Policy{}
	f, _ := filter.New(filter.Options{Records: db, Policy: pol, Inspectors: append(inspectors, &filter.DecideStage{Policy: pol, Queue: db})})
	u, _ := httpproxy.ParseUpstream(up.URL + "/mcp")
	opts.Upstreams, opts.Filter = []httpproxy.Upstream{u}, f
	p, err := httpproxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(p)
	t.Cleanup(px.Close)
	return px
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// repeat is an endless reader of one byte.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// A 100 MB body is refused with 413 and never reaches the upstream.
func TestOversizeBody(t *testing.T) {
	reached := make(chan struct{}, 1)
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached <- struct{}{} }), 0)
	resp, err := http.Post(px.URL+"/mcp", "application/json", io.LimitReader(repeat('a'), 100<<20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || len(reached) > 0 {
		t.Fatalf("status %d, upstream reached %v", resp.StatusCode, len(reached) > 0)
	}
}

// An event stream the upstream cuts in the middle of an event: the half
// event is dropped and the request it would have answered gets an error.
func TestTruncatedStream(t *testing.T) {
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"res")
	}), 0)
	resp, body := post(t, px.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`)
	if resp.StatusCode != 200 || strings.Contains(body, `"res`+"\n") || !strings.Contains(body, `"id":1`) || !strings.Contains(body, "-32090") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// An event with no end of lines: data lines, or comments, that never reach
// the blank line that ends the event. The proxy holds no more of one event
// than MaxBody, whatever its lines: past it, the stream ends as it does for
// a line over the limit, and the request it left unanswered gets an error.
// The answer the upstream sends after the oversized event never reaches
// the client, nor does any of the oversized event.
func TestOversizeEvent(t *testing.T) {
	const maxBody = 4 << 10
	for _, tc := range []struct{ name, line string }{
		{"data lines", "data: x\n"},
		{"comment lines", ": keep-alive\n"},
		{"other fields", "id: 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := proxyOpts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "event: message\n")
				// 64 times the limit in one event, then the answer: a proxy
				// that held the whole event would pass the answer on.
				for range 64 * maxBody / len(tc.line) {
					if _, err := io.WriteString(w, tc.line); err != nil {
						return // the proxy hung up
					}
				}
				io.WriteString(w, "\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[]}}\n\n")
			}), httpproxy.Options{MaxBody: maxBody})
			resp, body := post(t, px.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`)
			if resp.StatusCode != 200 || strings.Contains(body, `"contents"`) || strings.Contains(body, tc.line) ||
				!strings.Contains(body, `"id":1`) || !strings.Contains(body, "-32090") {
				t.Fatalf("%d %q", resp.StatusCode, body[:min(len(body), 500)])
			}
		})
	}
}

// An event of exactly MaxBody bytes (its lines, with one byte between
// each two) passes; one byte more ends the stream.
func TestEventAtTheLimit(t *testing.T) {
	const maxBody = 4 << 10
	answer := `data: {"jsonrpc":"2.0","id":1,"result":{"contents":[]}}`
	for _, over := range []int{0, 1} {
		// The event: its answer, then comments of 99 bytes and one of
		// what is left, each after a line end.
		left := maxBody + over - len(answer)
		var ev strings.Builder
		ev.WriteString(answer)
		for ; left > 200; left -= 100 {
			ev.WriteString("\n:" + strings.Repeat("c", 98))
		}
		ev.WriteString("\n:" + strings.Repeat("c", left-2))
		if ev.Len() != maxBody+over {
			t.Fatalf("an event of %d bytes", ev.Len())
		}
		px := proxyOpts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, ev.String()+"\n\n")
		}), httpproxy.Options{MaxBody: maxBody})
		_, body := post(t, px.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`)
		if passed := strings.Contains(body, `"contents"`); passed != (over == 0) || passed == strings.Contains(body, "-32090") {
			t.Fatalf("an event %d bytes over the limit: %q", over, body[:min(len(body), 300)])
		}
	}
}

// An upstream that never answers: the client gets an error after the
// upstream timeout, not a hang.
func TestHangingUpstream(t *testing.T) {
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the request as a server does (the server notices a closed
		// connection only once the body is read), then never answer.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}), 300*time.Millisecond)
	resp, body := post(t, px.URL+"/mcp", `{"jsonrpc":"2.0","id":"a","method":"ping"}`)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `"id":"a"`) {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// Clients that leave in the middle of streams leave no goroutine behind:
// their upstream requests are cancelled.
func TestClientLeavesMidStream(t *testing.T) {
	left := make(chan struct{}, 100)
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			if _, err := io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"tick\"}}\n\n"); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				left <- struct{}{}
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		left <- struct{}{}
	}), 0)
	before := runtime.NumGoroutine()
	const clients = 50
	for range clients {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, px.URL+"/mcp", nil)
		req.Header.Set("Mcp-Session-Id", "s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		if !strings.HasPrefix(line, "event: message") {
			t.Fatalf("first line %q", line)
		}
		cancel()
		resp.Body.Close()
	}
	for range clients {
		select {
		case <-left:
		case <-time.After(30 * time.Second):
			t.Fatal("an upstream stream was not cancelled when its client left")
		}
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A poisoned item inside an SSE stream is withheld while the events around
// it flow as they come: the first event reaches the client before the
// upstream sends the next one.
func TestStreamFlowsAroundAWithheldItem(t *testing.T) {
	release := make(chan struct{})
	event := func(id int, text string) string {
		return fmt.Sprintf("event: message\nid: e%d\ndata: {\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"contents\":[{\"uri\":\"file:///%d\",\"text\":%q}]}}\n\n", id, id, id, text)
	}
	px := streamProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, event(1, "first, clean"))
		w.(http.Flusher).Flush()
		<-release // the client must have the first event by now
		io.WriteString(w, event(2, "EVIL payload"))
		io.WriteString(w, event(3, "third, clean"))
	}))
	body := `[{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///1"}},` +
		`{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///2"}},` +
		`{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///3"}}]`
	resp, err := http.Post(px.URL+"/mcp", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent := func() string {
		var ev strings.Builder
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v (so far %q)", err, ev.String())
			}
			if line == "\n" {
				return ev.String()
			}
			ev.WriteString(line)
		}
	}
	if first := readEvent(); !strings.Contains(first, "first, clean") || !strings.Contains(first, "id: e1") {
		t.Fatalf("first event %q", first)
	}
	close(release)
	second, third := readEvent(), readEvent()
	if strings.Contains(second, "EVIL") || !strings.Contains(second, "withheld for review") || !strings.Contains(second, "id: e2") {
		t.Fatalf("second event %q", second)
	}
	if !strings.Contains(third, "third, clean") {
		t.Fatalf("third event %q", third)
	}
}

// A JSON answer shorter than its Content-Length is not passed on in part:
// the client gets a clear 502.
func TestTruncatedJSON(t *testing.T) {
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"res`)
	}), 0)
	resp, body := post(t, px.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`)
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(body, `"res`) || !strings.Contains(body, "could not be read whole") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}
