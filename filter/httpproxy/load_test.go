package httpproxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/demo"
	"github.com/ctxguard/ctxguard/filter/httpproxy"
)

// BenchmarkLoad is the proxy's load test: 64 concurrent MCP sessions (the
// Go SDK's streamable client) reading 16 KB documents, directly from a Go
// SDK streamable server and through the proxy (detectors, decide stage,
// bbolt store with relaxed durability), side by side in one run. It
// reports reads per second, p50 and p99 latency, and the goroutines left
// after the sessions closed.
func BenchmarkLoad(b *testing.B) {
	const sessions = 64
	doc := strings.Repeat("Invoices from approved vendors are paid on net-30 terms; see the portal.\n", 16<<10/73+1)[:16<<10]
	fsys := fstest.MapFS{}
	for i := range 16 {
		fsys[fmt.Sprintf("doc%02d.md", i)] = &fstest.MapFile{Data: []byte(doc)}
	}
	srv, err := demo.NewServer(fsys, "file:///kb/")
	if err != nil {
		b.Fatal(err)
	}
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{JSONResponse: true}))
	defer up.Close()
	px, _ := proxy(b, up.URL+"/mcp")

	for _, target := range []struct{ name, url string }{{"direct", up.URL + "/mcp"}, {"proxy", px.URL + "/mcp"}} {
		b.Run(target.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: sessions}
			defer tr.CloseIdleConnections()
			var css []*mcp.ClientSession
			for range sessions {
				c := mcp.NewClient(&mcp.Implementation{Name: "load", Version: "1"}, nil)
				cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: target.url, DisableStandaloneSSE: true,
					HTTPClient: &http.Client{Transport: tr}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				css = append(css, cs)
			}
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := max(b.N/sessions, 1)
			b.ResetTimer()
			start := time.Now()
			for i, cs := range css {
				wg.Go(func() {
					local := make([]time.Duration, 0, per)
					for j := range per {
						t0 := time.Now()
						_, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: fmt.Sprintf("file:///kb/doc%02d.md", (i+j)%16)})
						if err != nil {
							b.Error(err)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			for _, cs := range css {
				cs.Close()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "reads/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			// Idle keep-alive connections are not leaks: close them, the
			// client's and the proxy's to the upstream, before counting.
			tr.CloseIdleConnections()
			px.Config.Handler.(*httpproxy.Proxy).CloseIdleConnections()
			time.Sleep(100 * time.Millisecond)
			b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines-after")
		})
	}
}
