package httpproxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// raiseFileLimit lifts the soft limit on open files to what n connections
// need here (four descriptors each: the client's, the proxy's two and the
// upstream's), or fails the test naming the limit.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("this test needs %d open files; the hard limit is %d (ulimit -Hn)", n, lim.Max)
	}
	old := lim.Cur
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lim.Cur = old; syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 1,000 idle connections to the proxy: half are connected and say nothing
// (not even a request line), half are GET event streams the upstream keeps
// open without sending an event. Meanwhile the proxy still answers a normal
// request; the memory they hold stays within a bound per connection; and
// once they close, every goroutine they made (the proxy's, its upstream
// requests', the transports') is gone.
func TestIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections (-short)")
	}
	const conns = 1000
	raiseFileLimit(t, 4*conns+256)
	streams := make(chan struct{}, conns)
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			streams <- struct{}{}
			<-r.Context().Done()
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"still served"}]}}`)
	}), 0)
	addr := strings.TrimPrefix(px.URL, "http://")
	tr := &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: false}
	client := &http.Client{Transport: tr}

	before := runtime.NumGoroutine()
	heapBefore := heapInUse()
	var silent []net.Conn
	var bodies []io.Closer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range conns {
		if i%2 == 0 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			silent = append(silent, c)
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, px.URL+"/mcp", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", fmt.Sprintf("idle-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s", i, resp.Status)
		}
		bodies = append(bodies, resp.Body)
	}
	for range conns / 2 {
		<-streams // every stream is open at the upstream
	}

	// A normal request, on a connection of its own, while they idle.
	resp, err := http.Post(px.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "still served") {
		t.Fatalf("a request among the idle connections: %d %s", resp.StatusCode, b)
	}

	// The heap of this process holds both ends of every connection (the
	// test's clients, the proxy, and the upstream behind it): the bound is
	// per connection, for all of them together.
	held := int64(heapInUse()) - int64(heapBefore)
	per := held / conns
	t.Logf("%d idle connections: %d goroutines (from %d), heap +%.1f MiB, %.1f KiB per connection", conns, runtime.NumGoroutine(), before, float64(held)/(1<<20), float64(per)/1024)
	const bound = 64 << 10
	if per > bound {
		t.Errorf("%d bytes of heap per idle connection, over %d", per, bound)
	}

	for _, c := range silent {
		c.Close()
	}
	for _, b := range bodies {
		b.Close()
	}
	cancel()
	tr.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	settle(t, before)
}

// settle waits until the goroutines are back to about before, and fails
// with their stacks if they do not come back within a generous while.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 4<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, summarize(buf[:n]))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// summarize counts goroutine stacks by their top function.
func summarize(stacks []byte) string {
	count := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(stacks)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	top := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "goroutine ") {
			top = true
			continue
		}
		if top {
			count[line]++
			top = false
		}
	}
	var out strings.Builder
	for fn, n := range count {
		fmt.Fprintf(&out, "%5d %s\n", n, fn)
	}
	return out.String()
}
