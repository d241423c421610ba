package extract

import (
	"reflect"
	"testing"

	"github.com/ctxguard/ctxguard"
)

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		want     Request
		wantArgs string
	}{
		{
			name:  "initialize",
			frame: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"claude-code","version":"2.1.0"}}}`,
			want:  Request{Client: ctxguard.Peer{Name: "claude-code", Version: "2.1.0"}, ProtocolVersion: "2025-11-25"},
		},
		{
			name:  "initialize without clientInfo",
			frame: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}`,
			want:  Request{ProtocolVersion: "2024-11-05"},
		},
		{
			name:  "resources/read",
			frame: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/a.md"}}`,
			want:  Request{URI: "file:///kb/a.md"},
		},
		{
			name:  "resources/read with an escaped uri",
			frame: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:\/\/\/kb\/caf\u00e9.md"}}`,
			want:  Request{URI: "file:///kb/café.md"},
		},
		{
			name:  "resources/read, the last uri wins",
			frame: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a","uri":"b","URI":"c"}}`,
			want:  Request{URI: "b"},
		},
		{
			name:  "resources/subscribe",
			frame: `{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"kb://x"}}`,
			want:  Request{URI: "kb://x"},
		},
		{
			name:  "resources/unsubscribe",
			frame: `{"jsonrpc":"2.0","id":1,"method":"resources/unsubscribe","params":{"uri":"kb://y"}}`,
			want:  Request{URI: "kb://y"},
		},
		{
			name:     "tools/call",
			frame:    `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{ "query" : "refund" },"_meta":{"progressToken":"p"}}}`,
			want:     Request{Name: "search"},
			wantArgs: `{ "query" : "refund" }`,
		},
		{
			name:  "tools/call without arguments",
			frame: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"now"}}`,
			want:  Request{Name: "now"},
		},
		{
			name:     "tools/call as a task",
			frame:    `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"index","arguments":{},"task":{"ttl":60000}}}`,
			want:     Request{Name: "index", Task: true},
			wantArgs: `{}`,
		},
		{
			name:     "prompts/get",
			frame:    `{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"summarise","arguments":{"ticket":"4821"}}}`,
			want:     Request{Name: "summarise"},
			wantArgs: `{"ticket":"4821"}`,
		},
		{
			name:  "completion/complete of a resource template",
			frame: `{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"tickets://{id}"},"argument":{"name":"id","value":"48"}}}`,
			want:  Request{URI: "tickets://{id}"},
		},
		{
			name:  "completion/complete of a prompt",
			frame: `{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"summarise"},"argument":{"name":"ticket","value":"4"}}}`,
			want:  Request{Name: "summarise"},
		},
		{
			name:  "completion/complete without ref",
			frame: `{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"argument":{"name":"x","value":"y"}}}`,
		},
		{
			name:  "tasks/result",
			frame: `{"jsonrpc":"2.0","id":6,"method":"tasks/result","params":{"taskId":"t-1"}}`,
			want:  Request{TaskID: "t-1"},
		},
		{
			name:  "tasks/get",
			frame: `{"jsonrpc":"2.0","id":6,"method":"tasks/get","params":{"taskId":"t-2"}}`,
			want:  Request{TaskID: "t-2"},
		},
		{
			name:  "tasks/cancel",
			frame: `{"jsonrpc":"2.0","id":6,"method":"tasks/cancel","params":{"taskId":"t-3"}}`,
			want:  Request{TaskID: "t-3"},
		},
		{
			name: "stateless request carries version and client in _meta",
			frame: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"},"_meta":{` +
				`"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"agent","version":"0.9"}}}}`,
			want:     Request{Name: "search", ProtocolVersion: "2026-07-28", Client: ctxguard.Peer{Name: "agent", Version: "0.9"}},
			wantArgs: `{"q":"x"}`,
		},
		{
			name: "_meta overrides initialize's own fields",
			frame: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"a","version":"1"},"_meta":{` +
				`"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"b"}}}}`,
			want: Request{ProtocolVersion: "2026-07-28", Client: ctxguard.Peer{Name: "b"}},
		},
		{
			name:  "an empty protocolVersion in _meta does not override",
			frame: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","_meta":{"io.modelcontextprotocol/protocolVersion":""}}}`,
			want:  Request{ProtocolVersion: "2025-11-25"},
		},
		{
			name:  "no params",
			frame: `{"jsonrpc":"2.0","id":8,"method":"tools/list"}`,
		},
		{
			name:  "params that are an array",
			frame: `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":["search",{"q":"x"}]}`,
		},
		{
			name:  "params that are null",
			frame: `{"jsonrpc":"2.0","id":8,"method":"resources/read","params":null}`,
		},
		{
			name:     "fields of the wrong type read as empty",
			frame:    `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":42,"arguments":"not an object"}}`,
			wantArgs: `"not an object"`,
		},
		{
			name:  "an unknown method reads only _meta and task",
			frame: `{"jsonrpc":"2.0","id":9,"method":"x/y","params":{"uri":"u","name":"n","task":{}}}`,
			want:  Request{Task: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := []byte(tt.frame)
			m := parseOne(t, tt.frame)
			got, err := ReadRequest(frame, m)
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			args := string(got.Arguments)
			got.Arguments, tt.want.Arguments = nil, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadRequest = %+v\nwant          %+v", got, tt.want)
			}
			if args != tt.wantArgs {
				t.Errorf("Arguments = %q, want %q", args, tt.wantArgs)
			}
		})
	}
}

func TestCreatedTask(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string
	}{
		{
			name:  "a task handle",
			frame: `{"jsonrpc":"2.0","id":3,"result":{"task":{"taskId":"786512e2-9e0d-44bd-8f29-789f320fe840","status":"working","createdAt":"2025-11-25T10:30:00Z","ttl":60000,"pollInterval":5000}}}`,
			want:  "786512e2-9e0d-44bd-8f29-789f320fe840",
		},
		{name: "an ordinary result", frame: `{"jsonrpc":"2.0","id":3,"result":{"content":[]}}`},
		{name: "an error", frame: `{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"m"}}`},
		{name: "task is not an object", frame: `{"jsonrpc":"2.0","id":3,"result":{"task":"t-1"}}`},
		{name: "taskId is not a string", frame: `{"jsonrpc":"2.0","id":3,"result":{"task":{"taskId":7}}}`},
		{name: "result is not an object", frame: `{"jsonrpc":"2.0","id":3,"result":[{"task":{"taskId":"x"}}]}`},
		{name: "the last task wins", frame: `{"jsonrpc":"2.0","id":3,"result":{"task":{"taskId":"a"},"task":{"taskId":"b"}}}`, want: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CreatedTask([]byte(tt.frame), parseOne(t, tt.frame)); got != tt.want {
				t.Errorf("CreatedTask = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResultVersion(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string
	}{
		{
			name:  "initialize result",
			frame: `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}`,
			want:  "2025-06-18",
		},
		{name: "no version", frame: `{"jsonrpc":"2.0","id":0,"result":{"capabilities":{}}}`},
		{name: "an error", frame: `{"jsonrpc":"2.0","id":0,"error":{"code":-32602,"message":"Unsupported protocol version","data":{"supported":["2024-11-05"]}}}`},
		{name: "a version that is not a string", frame: `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":20250618}}`},
		{name: "a case variant is not the version", frame: `{"jsonrpc":"2.0","id":0,"result":{"ProtocolVersion":"2025-06-18"}}`},
		{name: "result is null", frame: `{"jsonrpc":"2.0","id":0,"result":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResultVersion([]byte(tt.frame), parseOne(t, tt.frame)); got != tt.want {
				t.Errorf("ResultVersion = %q, want %q", got, tt.want)
			}
		})
	}
}
