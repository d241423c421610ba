package filter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/filtertest"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/store"
)

var idPattern = regexp.MustCompile(`quarantine id [0-9A-Z]{26}`)

// Each held item is replaced in place by a placeholder in the shape its
// place asks for; its neighbours and every other byte stay as sent.
func TestWithheldItemsAreReplacedInPlace(t *testing.T) {
	P := `"[ctxguard] This content was withheld for review (quarantine id ID). Ask an administrator if you need it."`
	tests := []struct {
		name, method, params, response, want string
		failCall                             bool
	}{
		{"resource text", "resources/read", `{"uri":"file:///a"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","mimeType":"text/plain","text":"EVIL"},{"uri":"file:///b","text":"fine"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","mimeType":"text/plain","text":` + P + `},{"uri":"file:///b","text":"fine"}]}}`, false},
		{"resource blob", "resources/read", `{"uri":"file:///a"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[ {"uri":"file:///a","mimeType":"text/markdown","blob":"RVZJTA=="} ]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[ {"uri":"file:///a","mimeType":"text/plain","text":` + P + `} ]}}`, false},
		{"one block of a tool result", "tools/call", `{"name":"search"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"EVIL","annotations":{"priority":1}},{"type":"text","text":"fine"}],"isError":false}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":` + P + `,"annotations":{"priority":1}},{"type":"text","text":"fine"}],"isError":false}}`, false},
		{"an image", "tools/call", `{"name":"shot"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"image","mimeType":"image/png","data":"RVZJTA=="}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":` + P + `}]}}`, false},
		{"the whole call fails when asked", "tools/call", `{"name":"search"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"EVIL"},{"type":"text","text":"fine"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":` + P + `}],"isError":true}}`, true},
		{"structured content fails the call", "tools/call", `{"name":"read"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}],"structuredContent":{"text":"EVIL"}}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":` + P + `}],"isError":true}}`, false},
		{"a tool definition", "tools/list", `{}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search","description":"EVIL","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}},{"name":"ok","inputSchema":{"type":"object"}}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search","description":` + P + `,"inputSchema":{"type":"object"}},{"name":"ok","inputSchema":{"type":"object"}}]}}`, false},
		{"a prompt message", "prompts/get", `{"name":"p"}`,
			`{"jsonrpc":"2.0","id":1,"result":{"description":"fine","messages":[{"role":"user","content":{"type":"text","text":"EVIL"}}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"description":"fine","messages":[{"role":"user","content":{"type":"text","text":` + P + `}}]}}`, false},
		{"server instructions", "initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"},"instructions":"EVIL"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"},"instructions":` + P + `}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := &policy.Policy{Default: policy.Settings{FailToolCall: &tt.failCall}}
			h := newHarness(t, filtertest.Marker{Word: "EVIL"}, &filter.DecideStage{Policy: pol})
			h.client(`{"jsonrpc":"2.0","id":1,"method":"` + tt.method + `","params":` + tt.params + `}`)
			out, _ := h.server(tt.response)
			if !json.Valid([]byte(out)) {
				t.Fatalf("not JSON: %s", out)
			}
			if got := idPattern.ReplaceAllString(out, "quarantine id ID"); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// In a batch, only the message with a held item changes.
func TestWithheldItemInBatch(t *testing.T) {
	h := newHarness(t, filtertest.Marker{Word: "EVIL"}, &filter.DecideStage{Policy: &policy.Policy{}})
	h.client(`[{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a"}},{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"b"}}]`)
	good := `{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"b","text":"fine"}]}}`
	out, _ := h.server(`[{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"a","text":"EVIL"}]}}, ` + good + `]`)
	want := `[{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"a","text":"[ctxguard] This content was withheld for review (quarantine id ID). Ask an administrator if you need it."}]}},` + good + `]`
	if got := idPattern.ReplaceAllString(out, "quarantine id ID"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// With fail = "open", a message a stage failed on is forwarded unchanged
// and still recorded; with the default, it is withheld, and recorded as
// withheld.
func TestFailOpen(t *testing.T) {
	frame := `{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"hello"}]}}`
	for _, tc := range []struct {
		fail policy.Fail
		want string
	}{{policy.Open, frame}, {policy.Closed, `"code":-32093`}} {
		db := newHarness(t).db
		f, err := filter.New(filter.Options{Records: db, Inspectors: []filter.Stage{failing{}}, Policy: &policy.Policy{Default: policy.Settings{Fail: tc.fail}}})
		if err != nil {
			t.Fatal(err)
		}
		s := filter.NewSession("kb", "stdio", "s")
		s.FromClient([]byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`))
		out, _ := f.Process(context.Background(), f.Correlate(s, []byte(frame)))
		if !bytes.Contains(out, []byte(tc.want)) {
			t.Fatalf("fail %s: forwarded %s", tc.fail, out)
		}
		h := &harness{t: t, db: db, ctx: context.Background()}
		recs := h.records()
		if tc.fail == policy.Open && (len(recs) != 1 || recs[0].Note == "" || recs[0].Withheld) {
			t.Fatalf("fail open: records %+v", recs)
		}
		// Withheld (fail closed), the item is still on record, as withheld.
		if tc.fail == policy.Closed && (len(recs) != 1 || !recs[0].Withheld || !strings.Contains(recs[0].Note, "stage failing failed")) {
			t.Fatalf("fail closed: records %+v", recs)
		}
	}
}

// A placeholder in place of an item that is a whole JSON-RPC error or a
// request's or notification's params keeps the shape the protocol asks
// for there: a client must still be able to read the message.
func TestPlaceholderKeepsProtocolShape(t *testing.T) {
	tests := []struct {
		name, request, message string
		check                  func(m map[string]any) bool
	}{
		{"an error", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"EVIL","data":{"uri":"file:///a"}}}`,
			func(m map[string]any) bool {
				e, _ := m["error"].(map[string]any)
				msg, _ := e["message"].(string)
				_, hasData := e["data"]
				return e["code"] == float64(-32002) && idPattern.MatchString(msg) && !hasData
			}},
		{"an error with a code that is not an integer", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":"EVIL","message":"x"}}`,
			func(m map[string]any) bool {
				e, _ := m["error"].(map[string]any)
				msg, _ := e["message"].(string)
				return e["code"] == float64(ctxguard.CodeWithheld) && idPattern.MatchString(msg)
			}},
		{"a log message", "",
			`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"error","logger":"x","data":"EVIL"}}`,
			func(m map[string]any) bool {
				p, _ := m["params"].(map[string]any)
				data, _ := p["data"].(string)
				return p["level"] == "error" && idPattern.MatchString(data)
			}},
		{"an elicitation", "",
			`{"jsonrpc":"2.0","id":7,"method":"elicitation/create","params":{"message":"EVIL","requestedSchema":{"type":"object","properties":{"a":{"type":"string"}}}}}`,
			func(m map[string]any) bool {
				p, _ := m["params"].(map[string]any)
				msg, _ := p["message"].(string)
				s, _ := p["requestedSchema"].(map[string]any)
				return idPattern.MatchString(msg) && s["type"] == "object"
			}},
		{"a tool offered for sampling", "",
			`{"jsonrpc":"2.0","id":8,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":5,"tools":[{"name":"t","description":"EVIL","inputSchema":{"type":"object"}}]}}`,
			func(m map[string]any) bool {
				p, _ := m["params"].(map[string]any)
				tools, _ := p["tools"].([]any)
				if len(tools) != 1 {
					return false
				}
				tool, _ := tools[0].(map[string]any)
				d, _ := tool["description"].(string)
				s, _ := tool["inputSchema"].(map[string]any)
				return tool["name"] == "t" && idPattern.MatchString(d) && s["type"] == "object"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, filtertest.Marker{Word: "EVIL"}, &filter.DecideStage{Policy: &policy.Policy{}})
			if tt.request != "" {
				h.client(tt.request)
			}
			out, _ := h.server(tt.message)
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("not JSON: %s", out)
			}
			if bytes.Contains([]byte(out), []byte("EVIL")) || !tt.check(m) {
				t.Fatalf("wrong shape: %s", out)
			}
		})
	}
}

// failingHold is a queue that cannot hold items.
type failingHold struct{ store.Quarantine }

func (failingHold) Hold(context.Context, []*ctxguard.QuarantineItem) error {
	return errors.New("disk full")
}

// When the queue cannot hold an item, no record names a quarantine item
// that does not exist, nor says the item was withheld when fail open
// forwarded it. (Fail closed withholds the message; its record is not
// written at all, as for any stage that fails closed.)
func TestHoldFailureLeavesNoPhantomQuarantine(t *testing.T) {
	for _, fail := range []policy.Fail{policy.Open} {
		t.Run(string(fail), func(t *testing.T) {
			h := newHarness(t)
			f, err := filter.New(filter.Options{Records: h.db, Inspectors: []filter.Stage{filtertest.Marker{Word: "EVIL"},
				&filter.DecideStage{Policy: &policy.Policy{Default: policy.Settings{Fail: fail}}, Queue: failingHold{h.db}}},
				Policy: &policy.Policy{Default: policy.Settings{Fail: fail}}})
			if err != nil {
				t.Fatal(err)
			}
			h.f = f
			h.client(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}`)
			out, _ := h.server(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"EVIL"}]}}`)
			if forwarded := bytes.Contains([]byte(out), []byte("EVIL")); forwarded != (fail == policy.Open) {
				t.Fatalf("fail %s: the client got %s", fail, out)
			}
			recs := h.records()
			if len(recs) != 1 {
				t.Fatalf("records: %+v", recs)
			}
			if r := recs[0]; r.QuarantineID != "" || (fail == policy.Open && r.Withheld) {
				t.Fatalf("fail %s: the record says quarantine id %q, withheld %v", fail, r.QuarantineID, r.Withheld)
			}
		})
	}
}
