package httpproxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/httpproxy"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// BenchmarkSSEResponse is the proxy's own work on a POST answered with an
// event stream: one resources/read whose 16 KB document arrives as one SSE
// event, through a filter that records it (no detectors, relaxed
// durability: no fsync), over keep-alive
// connections. It isolates the stream path that BenchmarkLoad and
// ctxguard-bench http measure as a whole.
func BenchmarkSSEResponse(b *testing.B) {
	doc := strings.Repeat("Invoices from approved vendors are paid on net-30 terms; see the portal.\n", 16<<10/73+1)[:16<<10]
	q := fmt.Sprintf("%q", doc)
	event := []byte("event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[{\"uri\":\"file:///kb/a.md\",\"mimeType\":\"text/markdown\",\"text\":" + q + "}]}}\n\n")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(event)
	}))
	defer up.Close()
	db, err := bolt.Open(b.TempDir(), bolt.Options{Durability: store.Relaxed})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f, _ := filter.New(filter.Options{Records: db, Policy: &policy.Policy{}})
	u, _ := httpproxy.ParseUpstream(up.URL + "/mcp")
	p, err := httpproxy.New(httpproxy.Options{Upstreams: []httpproxy.Upstream{u}, Filter: f})
	if err != nil {
		b.Fatal(err)
	}
	px := httptest.NewServer(p)
	defer px.Close()
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/a.md"}}`)
	client := px.Client()
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(px.URL+"/mcp", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n < 16<<10 {
			b.Fatalf("%d bytes", n)
		}
	}
}
