package httpproxy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// meta is the _meta of a stateless (2026-07-28) request.
const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`

// The 2026-07-28 request headers (SEP-2243): a request whose Mcp-Method,
// Mcp-Name or MCP-Protocol-Version disagrees with its body, or lacks one
// it needs, is refused with 400 and HeaderMismatch (-32020) before it
// reaches the upstream, whatever way a decoder would read the body; one
// that agrees reaches the upstream with its body and headers as the client
// sent them, Mcp-Param-* included. Earlier revisions mirror nothing.
func TestStatelessHeaders(t *testing.T) {
	var got struct {
		sync.Mutex
		body   string
		header http.Header
	}
	px := rawProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		got.body, got.header = string(b), r.Header.Clone()
		got.Unlock()
		if strings.Contains(string(b), `"id"`) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":7,"result":{"resultType":"complete","contents":[]}}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}), 0)
	// h is the request's headers; a name given twice is sent twice.
	h := func(kv ...string) http.Header {
		m := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			m.Add(kv[i], kv[i+1])
		}
		return m
	}
	modern := func(kv ...string) http.Header {
		return h(append([]string{"MCP-Protocol-Version", "2026-07-28"}, kv...)...)
	}
	read := func(params string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{` + params + `,` + meta + `}}`
	}
	// read0 is read without the stateless _meta.
	read0 := func(params string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{` + params + `}}`
	}
	call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"execute_sql","arguments":{"region":"us-west1","query":"SELECT 1"},` + meta + `}}`
	for _, tc := range []struct {
		name    string
		body    string
		headers http.Header
		refused string // a part of the error; "" when it must pass
	}{
		{"consistent tools/call with a parameter header", call, modern("Mcp-Method", "tools/call", "Mcp-Name", "execute_sql", "Mcp-Param-Region", "us-west1"), ""},
		{"consistent resources/read", read(`"uri":"file:///kb/a.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), ""},
		{"Base64 name", read(`"uri":"file:///kb/Grüße.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "=?base64?ZmlsZTovLy9rYi9HcsO8w59lLm1k?="), ""},
		{"escaped name in the body", read(`"uri":"file:///kb/\u0061.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), ""},
		{"notification without Mcp-Method", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,` + meta + `}}`, modern(), ""},
		{"Mcp-Name names another resource", read(`"uri":"file:///kb/secret.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Name header value"},
		{"Mcp-Method names another method", read(`"uri":"file:///kb/a.md"`), modern("Mcp-Method", "tools/list", "Mcp-Name", "file:///kb/a.md"), "Mcp-Method header value"},
		{"no Mcp-Method", read(`"uri":"file:///kb/a.md"`), modern("Mcp-Name", "file:///kb/a.md"), "missing required Mcp-Method"},
		{"no Mcp-Name", read(`"uri":"file:///kb/a.md"`), modern("Mcp-Method", "resources/read"), "missing required Mcp-Name"},
		{"two uris, the header names the first", read(`"uri":"file:///kb/a.md","uri":"file:///kb/secret.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "does not match"},
		{"a second uri in other case", read(`"uri":"file:///kb/a.md","URI":"file:///kb/secret.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "does not match"},
		{"a name that is not a string", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":["execute_sql"],` + meta + `}}`, modern("Mcp-Method", "tools/call", "Mcp-Name", "execute_sql"), "does not match"},
		{"malformed Base64", read(`"uri":"file:///kb/a.md"`), modern("Mcp-Method", "resources/read", "Mcp-Name", "=?base64?***?="), "malformed"},
		{"version header disagrees with _meta", read(`"uri":"file:///kb/a.md"`), h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"no version header, _meta says 2026-07-28", read(`"uri":"file:///kb/a.md"`), h("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"a batch with another method", `[` + read(`"uri":"file:///kb/a.md"`) + `,{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{` + meta + `}}]`, modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Method header value"},
		// Ways around the check: the header or the body read one way here
		// and another way upstream.
		{"MCP-Protocol-Version repeated, the last one stateless", read0(`"uri":"file:///kb/a.md"`), h("MCP-Protocol-Version", "2025-11-25", "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/list"), "Mcp-Protocol-Version header"},
		{"MCP-Protocol-Version joined by a comma, the last one stateless", read0(`"uri":"file:///kb/a.md"`), h("MCP-Protocol-Version", "2025-11-25, 2026-07-28", "Mcp-Method", "tools/list"), "Mcp-Protocol-Version header"},
		{"MCP-Protocol-Version repeated, both the same", read(`"uri":"file:///kb/a.md"`), modern("MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header"},
		{"the _meta version's name escaped", read0(`"uri":"file:///kb/secret.md","_meta":{"\u0069o.modelcontextprotocol/protocolVersion":"2026-07-28"}`), h("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"the _meta version's name in other case", read0(`"uri":"file:///kb/secret.md","_meta":{"IO.modelcontextprotocol/protocolVersion":"2026-07-28"}`), h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"_Meta after _meta", read0(`"uri":"file:///kb/secret.md","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"},"_Meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`), h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"_meta twice, the first stateless", read0(`"uri":"file:///kb/secret.md","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}`), h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"_meta twice, the first an earlier version", read(`"uri":"file:///kb/a.md","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"a version twice in _meta", read0(`"uri":"file:///kb/a.md","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2025-11-25"}`), modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"params twice, the first stateless", `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"file:///kb/secret.md",` + meta + `},"params":{"uri":"file:///kb/a.md"}}`, h("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Protocol-Version header value"},
		{"params twice, the first names another resource", `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"file:///kb/secret.md",` + meta + `},"params":{"uri":"file:///kb/a.md",` + meta + `}}`, modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Name header value"},
		{"method twice", `{"jsonrpc":"2.0","id":7,"method":"tools/list","method":"resources/read","params":{"uri":"file:///kb/a.md",` + meta + `}}`, modern("Mcp-Method", "resources/read", "Mcp-Name", "file:///kb/a.md"), "Mcp-Method header value"},
		{"an earlier version in _meta and in the header", read0(`"uri":"file:///kb/a.md","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}`), h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "tools/list"), ""},
		{"2025-11-25: nothing mirrored, nothing checked", `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"file:///kb/a.md"}}`, h("MCP-Protocol-Version", "2025-11-25", "Mcp-Method", "tools/list"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got.Lock()
			got.body, got.header = "", nil
			got.Unlock()
			req, _ := http.NewRequest(http.MethodPost, px.URL+"/mcp", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, vs := range tc.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got.Lock()
			defer got.Unlock()
			if tc.refused != "" {
				var e struct {
					ID    json.RawMessage
					Error struct {
						Code    int
						Message string
					}
				}
				json.Unmarshal(b, &e)
				if resp.StatusCode != http.StatusBadRequest || e.Error.Code != -32020 || !strings.Contains(e.Error.Message, tc.refused) {
					t.Fatalf("want 400 and HeaderMismatch naming %q, got %d %s", tc.refused, resp.StatusCode, b)
				}
				if !strings.HasPrefix(tc.body, "[") && string(e.ID) != "7" {
					t.Fatalf("the error answers id %s, want 7", e.ID)
				}
				if got.header != nil {
					t.Fatal("the refused request reached the upstream")
				}
				return
			}
			if resp.StatusCode >= 300 {
				t.Fatalf("refused: %d %s", resp.StatusCode, b)
			}
			if got.body != tc.body {
				t.Fatalf("the upstream got another body:\n%s\nwant\n%s", got.body, tc.body)
			}
			for k, vs := range tc.headers {
				if g := got.header.Values(k); strings.Join(g, "\x00") != strings.Join(vs, "\x00") {
					t.Fatalf("the upstream got %s: %q, want %q", k, g, vs)
				}
			}
		})
	}
}

// recordingHandler counts the requests that reach h, by Mcp-Method, and
// keeps the Mcp-Name of each resources/read.
type recordingHandler struct {
	h     http.Handler
	mu    sync.Mutex
	reads []string
	n     atomic.Int64
}

func (rh *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Mcp-Method") == "resources/read" {
		rh.n.Add(1)
		rh.mu.Lock()
		rh.reads = append(rh.reads, r.Header.Get("Mcp-Name"))
		rh.mu.Unlock()
	}
	rh.h.ServeHTTP(w, r)
}

// Results marked cacheScope "private" are never shared across callers:
// two callers with different tokens read the same URI, concurrently and
// again and again, from a server whose answer depends on who asks and is
// marked private. Each always gets its own answer, with the cache fields
// as the server set them; every read reaches the server (the proxy keeps
// no results to share: its only caches are of verdicts by content hash,
// and a verdict is no content); and the records name each caller by its
// token's hash, never the token. The Go SDK client and its stateless server
// speak 2026-07-28 here, so this also shows its Mcp-Method and Mcp-Name reach the server as it
// set them, and the server's own header check accepts them.
func TestCacheScopePrivateNotShared(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "per-caller", Version: "1"}, &mcp.ServerOptions{
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) { c.CacheScope, c.TTLMs = "private", 60000 },
	})
	srv.AddResource(&mcp.Resource{URI: "file:///kb/balance.md", Name: "balance", MIMEType: "text/markdown"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			who := strings.TrimPrefix(req.Extra.Header.Get("Authorization"), "Bearer ")
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/markdown",
				Text: fmt.Sprintf("# Account of %s\n\nBalance: %d EUR.\n", who, len(who)*1000)}}}, nil
		})
	rh := &recordingHandler{h: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})}
	up := httptest.NewServer(rh)
	defer up.Close()
	px, db := proxy(t, up.URL+"/mcp")

	callers := []string{"alice", "bob-the-builder"}
	const reads = 20
	var wg sync.WaitGroup
	for _, who := range callers {
		wg.Go(func() {
			// A session per read: the Go SDK client keeps results for their
			// ttlMs within a session (the same caller, which private
			// allows), and every read must pass the proxy here.
			want := fmt.Sprintf("# Account of %s\n\nBalance: %d EUR.\n", who, len(who)*1000)
			for range reads {
				if err := readAs(who, px.URL+"/mcp", want); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := rh.n.Load(); n != int64(len(callers)*reads) {
		t.Fatalf("%d of %d reads reached the server", n, len(callers)*reads)
	}
	for _, name := range rh.reads {
		if name != "file:///kb/balance.md" {
			t.Fatalf("the server got Mcp-Name %q", name)
		}
	}
	byCaller := map[string]map[string]bool{} // token hash → content checksums
	for _, r := range records(t, db) {
		if r.Method != "resources/read" {
			continue
		}
		if r.Caller == nil {
			t.Fatalf("a record without its caller: %+v", r.Origin)
		}
		if byCaller[r.Caller.TokenSHA256] == nil {
			byCaller[r.Caller.TokenSHA256] = map[string]bool{}
		}
		byCaller[r.Caller.TokenSHA256][r.SHA256] = true
	}
	for _, who := range callers {
		tok := sha256.Sum256([]byte("Bearer " + who))
		doc := sha256.Sum256(fmt.Appendf(nil, "# Account of %s\n\nBalance: %d EUR.\n", who, len(who)*1000))
		sums := byCaller[hex.EncodeToString(tok[:])]
		if len(sums) != 1 || !sums[hex.EncodeToString(doc[:])] {
			t.Fatalf("records of %s's reads: %v", who, sums)
		}
	}
}

// readAs reads file:///kb/balance.md as caller who in a session of its own
// and checks it gets want, marked private.
func readAs(who, endpoint, want string) error {
	c := mcp.NewClient(&mcp.Implementation{Name: "caller-" + who, Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true,
		HTTPClient: &http.Client{Transport: bearer{who}}}, nil)
	if err != nil {
		return err
	}
	defer cs.Close()
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		return fmt.Errorf("%s speaks %s, want 2026-07-28", who, v)
	}
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///kb/balance.md"})
	if err != nil {
		return err
	}
	if res.Contents[0].Text != want || res.CacheScope != "private" || res.TTLMs != 60000 {
		return fmt.Errorf("%s got %q (cacheScope %q, ttlMs %d)", who, res.Contents[0].Text, res.CacheScope, res.TTLMs)
	}
	return nil
}
