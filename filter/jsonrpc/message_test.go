package jsonrpc

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard/filter/jsontree/jsontreetest"
)

// want describes one message Parse should find. Raw members hold the exact
// bytes the span must cover; "" means the member must be absent.
type want struct {
	kind      Kind
	span      string // the message's own object; "" means the whole trimmed frame
	id        string
	method    string
	params    string
	result    string
	error     string
	ambiguous bool
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		batch bool
		want  []want
	}{
		{
			name:  "request",
			frame: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"refund"}}}`,
			want:  []want{{kind: Request, id: `1`, method: "tools/call", params: `{"name":"search","arguments":{"q":"refund"}}`}},
		},
		{
			name:  "request without params",
			frame: `{"jsonrpc":"2.0","id":"a","method":"ping"}`,
			want:  []want{{kind: Request, id: `"a"`, method: "ping"}},
		},
		{
			name:  "notification",
			frame: `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
			want:  []want{{kind: Notification, method: "notifications/initialized"}},
		},
		{
			name:  "notification with params",
			frame: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":0.5}}`,
			want:  []want{{kind: Notification, method: "notifications/progress", params: `{"progressToken":"t","progress":0.5}`}},
		},
		{
			name:  "result response",
			frame: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}]}}`,
			want:  []want{{kind: Response, id: `2`, result: `{"content":[{"type":"text","text":"hi"}]}`}},
		},
		{
			name:  "result first, as the TypeScript SDK writes it",
			frame: `{"result":{"tools":[]},"jsonrpc":"2.0","id":3}`,
			want:  []want{{kind: Response, id: `3`, result: `{"tools":[]}`}},
		},
		{
			name:  "null result is a result",
			frame: `{"jsonrpc":"2.0","id":4,"result":null}`,
			want:  []want{{kind: Response, id: `4`, result: `null`}},
		},
		{
			name:  "error response",
			frame: `{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"Method not found"}}`,
			want:  []want{{kind: Response, id: `5`, error: `{"code":-32601,"message":"Method not found"}`}},
		},
		{
			name:  "error response with id null",
			frame: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
			want:  []want{{kind: Response, id: `null`, error: `{"code":-32700,"message":"Parse error"}`}},
		},
		{
			name:  "error response without id is invalid",
			frame: `{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}`,
			want:  []want{{kind: Invalid, error: `{"code":-32700,"message":"Parse error"}`}},
		},
		{
			name:  "result without id is invalid",
			frame: `{"jsonrpc":"2.0","result":{}}`,
			want:  []want{{kind: Invalid, result: `{}`}},
		},
		{
			name:  "result and error together are read as a response",
			frame: `{"jsonrpc":"2.0","id":6,"result":{},"error":{"code":1,"message":"m"}}`,
			want:  []want{{kind: Response, id: `6`, result: `{}`, error: `{"code":1,"message":"m"}`}},
		},
		{
			name:  "id only is invalid",
			frame: `{"jsonrpc":"2.0","id":7}`,
			want:  []want{{kind: Invalid, id: `7`}},
		},
		{
			name:  "empty object is invalid",
			frame: `{}`,
			want:  []want{{kind: Invalid}},
		},
		{name: "id 0", frame: `{"id":0,"method":"m"}`, want: []want{{kind: Request, id: `0`, method: "m"}}},
		{name: "id negative", frame: `{"id":-12,"method":"m"}`, want: []want{{kind: Request, id: `-12`, method: "m"}}},
		{name: "id 1.0", frame: `{"id":1.0,"method":"m"}`, want: []want{{kind: Request, id: `1.0`, method: "m"}}},
		{name: "id exponent", frame: `{"id":1E+2,"method":"m"}`, want: []want{{kind: Request, id: `1E+2`, method: "m"}}},
		{name: "id fraction", frame: `{"id":-0.25e-3,"method":"m"}`, want: []want{{kind: Request, id: `-0.25e-3`, method: "m"}}},
		{
			name:  "id bigger than any integer type",
			frame: `{"id":123456789012345678901234567890,"method":"m"}`,
			want:  []want{{kind: Request, id: `123456789012345678901234567890`, method: "m"}},
		},
		{name: "id empty string", frame: `{"id":"","method":"m"}`, want: []want{{kind: Request, id: `""`, method: "m"}}},
		{
			name:  "id string with escapes",
			frame: `{"id":"a\"b\\c\u00e9\n\/","method":"m"}`,
			want:  []want{{kind: Request, id: `"a\"b\\c\u00e9\n\/"`, method: "m"}},
		},
		{
			name:  "id string with a comma and a brace inside",
			frame: `{"id":"x,}y","method":"m"}`,
			want:  []want{{kind: Request, id: `"x,}y"`, method: "m"}},
		},
		{name: "id null in a request", frame: `{"id":null,"method":"m"}`, want: []want{{kind: Request, id: `null`, method: "m"}}},
		{name: "id true is located all the same", frame: `{"id":true,"method":"m"}`, want: []want{{kind: Request, id: `true`, method: "m"}}},
		{name: "id object is located all the same", frame: `{"id":{"a":[1]},"method":"m"}`, want: []want{{kind: Request, id: `{"a":[1]}`, method: "m"}}},
		{name: "id array is located all the same", frame: `{"id":[1,2],"method":"m"}`, want: []want{{kind: Request, id: `[1,2]`, method: "m"}}},
		{
			name:  "unknown members and _meta are skipped and leave the spans exact",
			frame: `{"jsonrpc":"2.0","x-trace":{"id":99,"method":"evil","result":1},"id":8,"_meta":{"id":"m"},"result":{"_meta":{"progressToken":1},"content":[]},"zzz":[{"error":{}}]}`,
			want:  []want{{kind: Response, id: `8`, result: `{"_meta":{"progressToken":1},"content":[]}`}},
		},
		{
			name:  "whitespace everywhere",
			frame: " \t{ \"jsonrpc\" : \"2.0\" ,\n \"id\" :\t9 , \"method\" : \"ping\" , \"params\" : { \"a\" : [ 1 , 2 ] } } ",
			want:  []want{{kind: Request, span: "{ \"jsonrpc\" : \"2.0\" ,\n \"id\" :\t9 , \"method\" : \"ping\" , \"params\" : { \"a\" : [ 1 , 2 ] } }", id: `9`, method: "ping", params: `{ "a" : [ 1 , 2 ] }`}},
		},
		{
			name:  "trailing CR is allowed",
			frame: "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r",
			want:  []want{{kind: Notification, method: "notifications/initialized"}},
		},
		{
			name:  "trailing CRLF is allowed",
			frame: "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n",
			want:  []want{{kind: Response, id: `1`, result: `{}`}},
		},
		{
			name:  "pretty-printed over several lines",
			frame: "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 10,\n  \"result\": {\n    \"tools\": []\n  }\n}\n",
			want:  []want{{kind: Response, id: `10`, result: "{\n    \"tools\": []\n  }"}},
		},
		{
			name:  "method with escapes is unescaped",
			frame: `{"id":1,"method":"tools\/c\u0061ll"}`,
			want:  []want{{kind: Request, id: `1`, method: "tools/call"}},
		},
		{
			name:  "escaped member name is the member",
			frame: `{"jsonrpc":"2.0","\u0069d":11,"method":"ping"}`,
			want:  []want{{kind: Request, id: `11`, method: "ping"}},
		},
		{
			name:  "invalid UTF-8 in a string is located",
			frame: "{\"id\":1,\"result\":{\"text\":\"a\xffb\"}}",
			want:  []want{{kind: Response, id: `1`, result: "{\"text\":\"a\xffb\"}"}},
		},

		// Ambiguous messages.
		{
			name:  "duplicate id",
			frame: `{"jsonrpc":"2.0","id":1,"result":{},"id":2}`,
			want:  []want{{kind: Response, id: `2`, result: `{}`, ambiguous: true}},
		},
		{
			name:  "duplicate result",
			frame: `{"jsonrpc":"2.0","id":1,"result":{"a":1},"result":{"b":2}}`,
			want:  []want{{kind: Response, id: `1`, result: `{"b":2}`, ambiguous: true}},
		},
		{
			name:  "duplicate method",
			frame: `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`,
			want:  []want{{kind: Request, id: `1`, method: "tools/call", ambiguous: true}},
		},
		{
			name:  "duplicate params",
			frame: `{"jsonrpc":"2.0","id":1,"method":"m","params":{},"params":[]}`,
			want:  []want{{kind: Request, id: `1`, method: "m", params: `[]`, ambiguous: true}},
		},
		{
			name:  "duplicate jsonrpc",
			frame: `{"jsonrpc":"2.0","jsonrpc":"1.0","id":1,"method":"m"}`,
			want:  []want{{kind: Request, id: `1`, method: "m", ambiguous: true}},
		},
		{
			name:  "duplicate via an escaped name",
			frame: `{"id":1,"i\u0064":2,"method":"m"}`,
			want:  []want{{kind: Request, id: `2`, method: "m", ambiguous: true}},
		},
		{
			name:  "ID in upper case",
			frame: `{"jsonrpc":"2.0","ID":1,"result":{}}`,
			want:  []want{{kind: Response, id: `1`, result: `{}`, ambiguous: true}},
		},
		{
			name:  "Result next to result",
			frame: `{"jsonrpc":"2.0","id":1,"Result":{"content":[]},"result":{}}`,
			want:  []want{{kind: Response, id: `1`, result: `{}`, ambiguous: true}},
		},
		{
			name:  "Method in mixed case",
			frame: `{"jsonrpc":"2.0","id":1,"Method":"tools/call"}`,
			want:  []want{{kind: Request, id: `1`, method: "tools/call", ambiguous: true}},
		},
		{
			name:  "JSONRPC in upper case",
			frame: `{"JSONRPC":"2.0","id":1,"method":"m"}`,
			want:  []want{{kind: Request, id: `1`, method: "m", ambiguous: true}},
		},
		{
			name:  "ERROR in upper case",
			frame: `{"jsonrpc":"2.0","id":1,"ERROR":{"code":1,"message":"x"}}`,
			want:  []want{{kind: Response, id: `1`, error: `{"code":1,"message":"x"}`, ambiguous: true}},
		},
		{
			name:  "long s folds to s, as case-insensitive decoders read it",
			frame: "{\"jsonrpc\":\"2.0\",\"id\":1,\"re\u017fult\":{}}",
			want:  []want{{kind: Response, id: `1`, result: `{}`, ambiguous: true}},
		},
		{
			name:  "method and result together",
			frame: `{"jsonrpc":"2.0","id":1,"method":"tools/call","result":{}}`,
			want:  []want{{kind: Invalid, id: `1`, method: "tools/call", result: `{}`, ambiguous: true}},
		},
		{
			name:  "method and error together",
			frame: `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"},"method":"m"}`,
			want:  []want{{kind: Invalid, id: `1`, method: "m", error: `{"code":1,"message":"x"}`, ambiguous: true}},
		},
		{
			name:  "non-string method number",
			frame: `{"jsonrpc":"2.0","id":1,"method":42}`,
			want:  []want{{kind: Request, id: `1`, ambiguous: true}},
		},
		{
			name:  "non-string method null",
			frame: `{"jsonrpc":"2.0","method":null}`,
			want:  []want{{kind: Notification, ambiguous: true}},
		},
		{
			name:  "non-string method object",
			frame: `{"jsonrpc":"2.0","id":1,"method":{"name":"ping"}}`,
			want:  []want{{kind: Request, id: `1`, ambiguous: true}},
		},
		{
			name:  "case variants of other names are not envelope members",
			frame: `{"jsonrpc":"2.0","id":1,"result":{},"ids":[1],"results":2,"Meta":{}}`,
			want:  []want{{kind: Response, id: `1`, result: `{}`}},
		},

		// Batches.
		{
			name:  "batch of requests and notifications",
			frame: `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}]`,
			batch: true,
			want: []want{
				{kind: Request, span: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, id: `1`, method: "tools/list"},
				{kind: Notification, span: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}`, method: "notifications/cancelled", params: `{"requestId":0}`},
			},
		},
		{
			name:  "batch of responses with whitespace",
			frame: "[ {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}} ,\n {\"id\":2,\"error\":{\"code\":1,\"message\":\"m\"}} ]\r",
			batch: true,
			want: []want{
				{kind: Response, span: `{"jsonrpc":"2.0","id":1,"result":{}}`, id: `1`, result: `{}`},
				{kind: Response, span: `{"id":2,"error":{"code":1,"message":"m"}}`, id: `2`, error: `{"code":1,"message":"m"}`},
			},
		},
		{
			name:  "batch elements that are not objects are invalid messages",
			frame: `[1, "x" ,null,[{"id":1,"method":"m"}],{"id":3,"result":true}, true]`,
			batch: true,
			want: []want{
				{kind: Invalid, span: `1`},
				{kind: Invalid, span: `"x"`},
				{kind: Invalid, span: `null`},
				{kind: Invalid, span: `[{"id":1,"method":"m"}]`},
				{kind: Response, span: `{"id":3,"result":true}`, id: `3`, result: `true`},
				{kind: Invalid, span: `true`},
			},
		},
		{
			name:  "batch with an ambiguous message",
			frame: `[{"id":1,"result":{}},{"id":2,"ID":3,"result":{}}]`,
			batch: true,
			want: []want{
				{kind: Response, span: `{"id":1,"result":{}}`, id: `1`, result: `{}`},
				{kind: Response, span: `{"id":2,"ID":3,"result":{}}`, id: `3`, result: `{}`, ambiguous: true},
			},
		},
		{
			name:  "empty batch",
			frame: `[]`,
			batch: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := []byte(tt.frame)
			f, err := Parse(frame)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkSpans(t, frame, f)
			if f.Batch != tt.batch {
				t.Errorf("Batch = %v, want %v", f.Batch, tt.batch)
			}
			if len(f.Messages) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(f.Messages), len(tt.want))
			}
			for i, w := range tt.want {
				m := f.Messages[i]
				if w.span == "" {
					w.span = strings.Trim(tt.frame, " \t\r\n")
				}
				if m.Kind != w.kind {
					t.Errorf("message %d: Kind = %v, want %v", i, m.Kind, w.kind)
				}
				if m.Method != w.method {
					t.Errorf("message %d: Method = %q, want %q", i, m.Method, w.method)
				}
				if m.Ambiguous != w.ambiguous {
					t.Errorf("message %d: Ambiguous = %v, want %v", i, m.Ambiguous, w.ambiguous)
				}
				for _, s := range []struct {
					member string
					span   Span
					want   string
				}{
					{"Span", m.Span, w.span},
					{"ID", m.ID, w.id},
					{"Params", m.Params, w.params},
					{"Result", m.Result, w.result},
					{"Error", m.Error, w.error},
				} {
					if s.want == "" {
						if s.span.Present() {
							t.Errorf("message %d: %s = %q, want absent", i, s.member, s.span.Of(frame))
						}
						continue
					}
					if got := string(s.span.Of(frame)); got != s.want {
						t.Errorf("message %d: %s = %q, want %q", i, s.member, got, s.want)
					}
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame string
	}{
		{"empty frame", ""},
		{"only whitespace", " \t "},
		{"only CR", "\r"},
		{"not JSON", "hello"},
		{"HTTP garbage", "HTTP/1.1 200 OK"},
		{"a string", `"tools/call"`},
		{"a number", `42`},
		{"null", `null`},
		{"true", `true`},
		{"truncated object", `{"jsonrpc":"2.0","id":1,"result":{`},
		{"truncated after a name", `{"id"`},
		{"truncated batch", `[{"id":1,"result":{}}`},
		{"truncated batch after a comma", `[{"id":1,"result":{}},`},
		{"trailing data", `{"id":1,"result":{}}x`},
		{"trailing second message", `{"id":1,"result":{}} {"id":2,"result":{}}`},
		{"trailing second message on a new line", "{\"id\":1,\"result\":{}}\n{\"id\":2,\"result\":{}}"},
		{"trailing data after a batch", `[] []`},
		{"trailing comma in an object", `{"id":1,}`},
		{"trailing comma in a batch", `[{"id":1,"result":{}},]`},
		{"syntax error inside a batch element", `[{"id":1,"result":{]}]`},
		{"syntax error inside a non-object batch element", `[{"id":1,"result":{}},[1,}]`},
		{"single quotes", `{'id':1}`},
		{"unquoted name", `{id:1}`},
		{"closing bracket first", `]`},
		{"closing brace first", `}`},
		{"leading zero in a number", `{"id":01,"method":"m"}`},
		{"NaN", `{"id":NaN,"method":"m"}`},
		{"byte order mark", "\ufeff{\"id\":1,\"method\":\"m\"}"},
		{"NUL after the message", "{\"id\":1,\"method\":\"m\"}\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.frame))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.frame, f)
			}
			if !errors.Is(err, ErrNotJSONRPC) {
				t.Errorf("error %v does not wrap ErrNotJSONRPC", err)
			}
			if len(f.Messages) != 0 || f.Batch {
				t.Errorf("Parse returned %+v with its error, want the zero Frame", f)
			}
		})
	}
}

// TestParseFrames parses every frame of testdata/frames.jsonl and checks
// its spans against an independent reading with encoding/json.
func TestParseFrames(t *testing.T) {
	for i, frame := range readFrames(t) {
		f, err := Parse(frame)
		if err != nil {
			if json.Valid(frame) && startsContainer(frame) {
				t.Errorf("line %d: Parse rejected valid JSON %q: %v", i+1, frame, err)
			}
			continue
		}
		checkSpans(t, frame, f)
		checkAgainstEncodingJSON(t, frame, f)
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		want string
	}{
		{"invalid", Invalid, "invalid"},
		{"request", Request, "request"},
		{"notification", Notification, "notification"},
		{"response", Response, "response"},
		{"out of range", Kind(200), "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSpan(t *testing.T) {
	frame := []byte(`{"id":1}`)
	tests := []struct {
		name    string
		span    Span
		present bool
		of      string
	}{
		{"zero span is absent", Span{}, false, ""},
		{"empty span is absent", Span{3, 3}, false, ""},
		{"one byte", Span{6, 7}, true, "1"},
		{"whole frame", Span{0, len(frame)}, true, `{"id":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.span.Present(); got != tt.present {
				t.Errorf("Present() = %v, want %v", got, tt.present)
			}
			if got := string(tt.span.Of(frame)); got != tt.of {
				t.Errorf("Of = %q, want %q", got, tt.of)
			}
		})
	}
}

// TestParseDoesNotRetainFrame checks that the pooled decoder lets go of the
// frame, and that a second Parse does not see the first frame's bytes.
func TestParseReusesDecoders(t *testing.T) {
	a := []byte(`{"jsonrpc":"2.0","id":1,"result":{"a":1}}`)
	b := []byte(`{"jsonrpc":"2.0","method":"m"}`)
	for i := 0; i < 3; i++ {
		fa, err := Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(fa.Messages[0].Result.Of(a)); got != `{"a":1}` {
			t.Errorf("result = %q", got)
		}
		if fb.Messages[0].Kind != Notification || fb.Messages[0].Method != "m" {
			t.Errorf("second frame = %+v", fb.Messages[0])
		}
	}
}

// checkSpans asserts what holds for every frame Parse accepts: every span
// lies in the frame, and every present span is one valid JSON value.
func checkSpans(t testing.TB, frame []byte, f Frame) {
	t.Helper()
	for i, m := range f.Messages {
		for _, s := range []struct {
			member string
			span   Span
		}{{"Span", m.Span}, {"ID", m.ID}, {"Params", m.Params}, {"Result", m.Result}, {"Error", m.Error}} {
			if s.span.Start < 0 || s.span.End > len(frame) || s.span.Start > s.span.End {
				t.Fatalf("message %d: %s %+v out of the %d-byte frame", i, s.member, s.span, len(frame))
			}
			if s.member == "Span" && !s.span.Present() {
				t.Errorf("message %d: its own Span is empty", i)
			}
			if s.span.Present() && !jsontreetest.ValidOutsideStrings(s.span.Of(frame)) {
				t.Errorf("message %d: %s %q is not one JSON value", i, s.member, s.span.Of(frame))
			}
			if s.member != "Span" && s.span.Present() && (s.span.Start < m.Span.Start || s.span.End > m.Span.End) {
				t.Errorf("message %d: %s %+v is outside the message %+v", i, s.member, s.span, m.Span)
			}
		}
		if f.Batch == false && len(f.Messages) != 1 {
			t.Errorf("a frame that is not a batch has %d messages", len(f.Messages))
		}
	}
}

// checkAgainstEncodingJSON reads every unambiguous object message of a
// frame with encoding/json and compares what it finds with Parse's spans.
// Ambiguous messages are exactly the ones decoders disagree about, so they
// are skipped.
func checkAgainstEncodingJSON(t testing.TB, frame []byte, f Frame) {
	t.Helper()
	for i, m := range f.Messages {
		raw := m.Span.Of(frame)
		if m.Ambiguous || raw[0] != '{' {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Errorf("message %d: encoding/json cannot read %q: %v", i, raw, err)
			continue
		}
		for _, s := range []struct {
			name string
			span Span
		}{{"id", m.ID}, {"params", m.Params}, {"result", m.Result}, {"error", m.Error}} {
			v, ok := obj[s.name]
			if ok != s.span.Present() {
				t.Errorf("message %d: %s present %v, encoding/json says %v", i, s.name, s.span.Present(), ok)
				continue
			}
			if ok && string(v) != string(s.span.Of(frame)) {
				t.Errorf("message %d: %s = %q, encoding/json says %q", i, s.name, s.span.Of(frame), v)
			}
		}
		rawMethod, hasMethod := obj["method"]
		if hasMethod {
			var method string
			if err := json.Unmarshal(rawMethod, &method); err != nil {
				t.Errorf("message %d: a non-string method %q was not marked ambiguous", i, rawMethod)
			} else if utf8.Valid(rawMethod) && method != m.Method {
				t.Errorf("message %d: Method = %q, encoding/json says %q", i, m.Method, method)
			}
		}
		_, hasResult := obj["result"]
		_, hasError := obj["error"]
		_, hasID := obj["id"]
		want := Invalid
		switch {
		case hasMethod && hasID:
			want = Request
		case hasMethod:
			want = Notification
		case (hasResult || hasError) && hasID:
			want = Response
		}
		if m.Kind != want {
			t.Errorf("message %d: Kind = %v, encoding/json's members say %v", i, m.Kind, want)
		}
	}
}

func startsContainer(frame []byte) bool {
	s := strings.TrimLeft(string(frame), " \t\r\n")
	return s != "" && (s[0] == '{' || s[0] == '[')
}

// TestParseConcurrent parses the test frames from many goroutines at once:
// the decoders are pooled, and no two calls may share one.
func TestParseConcurrent(t *testing.T) {
	frames := readFrames(t)
	want := make([]Frame, len(frames))
	for i, fr := range frames {
		want[i], _ = Parse(fr)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				i := (g*7 + n) % len(frames)
				got, _ := Parse(frames[i])
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("frame %d parsed concurrently = %+v, want %+v", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Inside strings, Parse checks only where they end: a raw control
// character is the client's parser's to reject, and the message's structure
// is the same for every parser that accepts it.
func TestParseLenientInsideStrings(t *testing.T) {
	for _, frame := range []string{
		"{\"id\":\"a\x01b\",\"method\":\"m\"}",
		"{\"id\":1,\"method\":\"a\nb\"}",
	} {
		f, err := Parse([]byte(frame))
		if err != nil || len(f.Messages) != 1 || f.Messages[0].Kind != Request {
			t.Errorf("Parse(%q) = %+v, %v; want one request", frame, f, err)
		}
	}
}
