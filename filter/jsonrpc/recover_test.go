package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sdkjsonrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// goSDKResponse is a tools/call response as the Go SDK writes it: id
// before result.
func goSDKResponse(t *testing.T, id any, result any) []byte {
	t.Helper()
	res, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := sdkjsonrpc.MakeID(id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sdkjsonrpc.EncodeMessage(&sdkjsonrpc.Response{ID: sid, Result: res})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tsSDKResponse is a response as the TypeScript SDK writes it: result
// first, then "jsonrpc" and "id" at the end.
func tsSDKResponse(t *testing.T, rawID string, result any) []byte {
	t.Helper()
	res, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"result":` + string(res) + `,"jsonrpc":"2.0","id":` + rawID + `}`)
}

func bigText(n int) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Repeat("lorem ipsum ", n/12+1)}}}
}

// TestRecoverID reads each frame through a Reader with a limit it exceeds
// and recovers the id from the OversizeError's head and tail.
func TestRecoverID(t *testing.T) {
	const big = 50_000
	tests := []struct {
		name   string
		frame  func(t *testing.T) []byte
		limit  int
		wantID string // "" means not ok
	}{
		{
			name:   "Go SDK order, number id",
			frame:  func(t *testing.T) []byte { return goSDKResponse(t, float64(7), bigText(big)) },
			wantID: `7`,
		},
		{
			name:   "Go SDK order, string id",
			frame:  func(t *testing.T) []byte { return goSDKResponse(t, "req-7", bigText(big)) },
			wantID: `"req-7"`,
		},
		{
			name: "Go SDK order, ids nested in the result after the envelope's",
			frame: func(t *testing.T) []byte {
				items := make([]map[string]any, 2000)
				for i := range items {
					items[i] = map[string]any{"id": i + 100, "title": "doc"}
				}
				return goSDKResponse(t, float64(8), &mcp.CallToolResult{
					Content:           []mcp.Content{&mcp.TextContent{Text: "see structured content"}},
					StructuredContent: map[string]any{"items": items},
				})
			},
			wantID: `8`,
		},
		{
			name: "Go SDK order, error response with id null",
			frame: func(t *testing.T) []byte {
				return []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"` + strings.Repeat("e", big) + `"}}`)
			},
			wantID: `null`,
		},
		{
			name:   "TypeScript SDK order, number id",
			frame:  func(t *testing.T) []byte { return tsSDKResponse(t, `42`, bigText(big)) },
			wantID: `42`,
		},
		{
			name:   "TypeScript SDK order, string id with escapes",
			frame:  func(t *testing.T) []byte { return tsSDKResponse(t, `"a\"b\\c"`, bigText(big)) },
			wantID: `"a\"b\\c"`,
		},
		{
			name:   "TypeScript SDK order, negative fractional id",
			frame:  func(t *testing.T) []byte { return tsSDKResponse(t, `-1.5e3`, bigText(big)) },
			wantID: `-1.5e3`,
		},
		{
			name: "TypeScript SDK order, ids nested in the result before the envelope's",
			frame: func(t *testing.T) []byte {
				return tsSDKResponse(t, `43`, map[string]any{
					"content":           []any{map[string]any{"type": "text", "text": strings.Repeat("z", big)}},
					"structuredContent": map[string]any{"items": []any{map[string]any{"id": 1}, map[string]any{"id": 2}}},
				})
			},
			wantID: `43`,
		},
		{
			name: "TypeScript SDK order, an id inside a text near the end is escaped and ignored",
			frame: func(t *testing.T) []byte {
				return tsSDKResponse(t, `44`, map[string]any{
					"content": []any{map[string]any{"type": "text", "text": strings.Repeat("z", big) + `{"id":99}`}},
				})
			},
			wantID: `44`,
		},
		{
			name: "TypeScript SDK order with whitespace",
			frame: func(t *testing.T) []byte {
				return []byte(`{ "result" : { "text" : "` + strings.Repeat("w", big) + `" } , "jsonrpc" : "2.0" , "id" : 45 }`)
			},
			wantID: `45`,
		},
		{
			name:   "a frame smaller than the head",
			frame:  func(t *testing.T) []byte { return tsSDKResponse(t, `46`, map[string]any{"content": []any{}}) },
			limit:  10,
			wantID: `46`,
		},
		{
			name: "a batch: the last id of its tail",
			frame: func(t *testing.T) []byte {
				a := goSDKResponse(t, float64(1), bigText(big))
				b := goSDKResponse(t, float64(2), bigText(10))
				return []byte("[" + string(a) + "," + string(b) + "]")
			},
			wantID: `2`,
		},
		{
			name: "an id number cut at the end of the head is not guessed",
			frame: func(t *testing.T) []byte {
				prefix := `{"jsonrpc":"2.0","_meta":{"pad":"`
				suffix := `"},"id":`
				pad := strings.Repeat("p", headSize-len(prefix)-len(suffix)-4)
				return []byte(prefix + pad + suffix + `123456789,"result":{"text":"` + strings.Repeat("r", big) + `"}}`)
			},
			wantID: ``,
		},
		{
			name: "no id anywhere",
			frame: func(t *testing.T) []byte {
				return []byte(`{"jsonrpc":"2.0","result":{"text":"` + strings.Repeat("n", big) + `"}}`)
			},
			wantID: ``,
		},
		{
			name:   "not JSON",
			frame:  func(t *testing.T) []byte { return bytes.Repeat([]byte("garbage "), big) },
			wantID: ``,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.frame(t)
			limit := tt.limit
			if limit == 0 {
				limit = 1024
			}
			r := NewReader(bytes.NewReader(append(frame, '\n')), limit)
			_, err := r.Next()
			var e *OversizeError
			if !errors.As(err, &e) {
				t.Fatalf("Next = %v, want an *OversizeError", err)
			}
			id, ok := RecoverID(e.Head, e.Tail)
			if tt.wantID == "" {
				if ok {
					t.Errorf("RecoverID = %s, true; want no guess", id)
				}
				return
			}
			if !ok || string(id) != tt.wantID {
				t.Errorf("RecoverID = %s, %v; want %s", id, ok, tt.wantID)
			}
			if !bytes.Contains(frame, id) {
				t.Errorf("the recovered id %s is not in the frame", id)
			}
		})
	}
}

// TestRecoverIDHeadTail calls RecoverID directly with the ends of frames.
func TestRecoverIDHeadTail(t *testing.T) {
	tests := []struct {
		name       string
		head, tail string
		wantID     string
	}{
		{"both empty", ``, ``, ``},
		{"id first in the head", `{"jsonrpc":"2.0","id":3,"result":{"conte`, `nt":[]}}`, `3`},
		{"id after whitespace in the head", " \r\n{ \"id\" : \"x\" , \"result\":", `}`, `"x"`},
		{"string id at the very end of the head", `{"jsonrpc":"2.0","id":"abc"`, `,"result":{}}`, `"abc"`},
		{"number id at the very end of the head", `{"jsonrpc":"2.0","id":12`, `3,"result":{}}`, ``},
		{"number id at the very end, and in the tail", `{"jsonrpc":"2.0","id":12`, `"x"},"jsonrpc":"2.0","id":123}`, `123`},
		{"string id cut in the head", `{"jsonrpc":"2.0","id":"ab`, `c","result":{}}`, ``},
		{"head is a batch", `[{"jsonrpc":"2.0","id":1,"result":`, `{}}]`, ``},
		{"id in the tail only", `{"result":{"content":[`, `]},"jsonrpc":"2.0","id":9}`, `9`},
		{"id in the tail followed by a member", `{"result":{`, `},"id":10,"jsonrpc":"2.0"}`, `10`},
		{"the last id of the tail", `{"result":{`, `{"id":1},{"id":2}]},"id":11}`, `11`},
		{"tail id cut at the start of the tail", `{"result":{`, `1}`, ``},
		{"tail id without an end", `{"result":{`, `"id":12`, ``},
		{"tail id string with an escaped quote", `{"result":{`, `},"id":"a\"b"}`, `"a\"b"`},
		{"tail id string with an escaped backslash", `{"result":{`, `},"id":"a\\"}`, `"a\\"`},
		{"escaped id member inside a string is ignored", `{"result":{`, `"text":"{\"id\":99}"}}`, ``},
		{"tail id that is not a JSON number is returned as a guess", `{"result":{`, `},"id":1.2.3}`, `1.2.3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := RecoverID([]byte(tt.head), []byte(tt.tail))
			if tt.wantID == "" {
				if ok {
					t.Errorf("RecoverID = %s, true; want no guess", id)
				}
				return
			}
			if !ok || string(id) != tt.wantID {
				t.Errorf("RecoverID = %s, %v; want %s", id, ok, tt.wantID)
			}
		})
	}
}

// TestRecoverIDGuessesAreKeyedOnlyWhenValid checks the contract callers
// rely on: a guess is written back into an error response only when IDKey
// accepts it, so a guess that is not one JSON value must not be keyed.
func TestRecoverIDGuessesAreKeyedOnlyWhenValid(t *testing.T) {
	tails := []string{
		`},"id":1.2.3}`,
		`},"id":1e}`,
		`},"id":1-}`,
		`},"id":-}`,
		`},"id":01}`,
		`},"id":1.}`,
	}
	for _, tail := range tails {
		id, ok := RecoverID([]byte(`{"result":{`), []byte(tail))
		if !ok {
			continue
		}
		if key, ok := IDKey(id); ok {
			t.Errorf("IDKey(%s) = %q, true for a guess that is not JSON", id, key)
		}
	}
}
