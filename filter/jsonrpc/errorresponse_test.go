package jsonrpc

import (
	"bytes"
	"errors"
	"testing"

	sdkjsonrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name    string
		id      []byte
		code    int
		message string
		want    string
		wantMsg string // the message as a decoder reads it; message when ""
	}{
		{
			name:    "number id",
			id:      []byte(`7`),
			code:    -32001,
			message: "too large",
			want:    `{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"too large"}}`,
		},
		{
			name:    "string id is written as it was sent",
			id:      []byte(`"req-\u0031"`),
			code:    -32600,
			message: "m",
			want:    `{"jsonrpc":"2.0","id":"req-\u0031","error":{"code":-32600,"message":"m"}}`,
		},
		{
			name:    "nil id becomes null",
			id:      nil,
			code:    -32700,
			message: "Parse error",
			want:    `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		},
		{
			name:    "empty id becomes null",
			id:      []byte{},
			code:    -32700,
			message: "Parse error",
			want:    `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		},
		{
			name:    "positive code",
			id:      []byte(`1`),
			code:    42,
			message: "",
			want:    `{"jsonrpc":"2.0","id":1,"error":{"code":42,"message":""}}`,
		},
		{
			name:    "message with quotes, a newline and non-ASCII",
			id:      []byte(`1`),
			code:    -1,
			message: "a \"quoted\" line\nnext: é ✓",
			want:    `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"a \"quoted\" line\nnext: é ✓"}}`,
		},
		{
			name:    "invalid UTF-8 in the message is replaced",
			id:      []byte(`1`),
			code:    -1,
			message: "bad \xff byte",
			want:    `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"bad \ufffd byte"}}`,
			wantMsg: "bad \ufffd byte",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorResponse(tt.id, tt.code, tt.message)
			if string(got) != tt.want {
				t.Errorf("ErrorResponse = %s\nwant            %s", got, tt.want)
			}
			if bytes.ContainsAny(got, "\r\n") {
				t.Errorf("ErrorResponse has a line break; it must be one frame")
			}

			// It parses as a response whose id is the given id.
			f, err := Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			m := f.Messages[0]
			wantID := string(tt.id)
			if wantID == "" {
				wantID = "null"
			}
			if m.Kind != Response || m.Ambiguous || string(m.ID.Of(got)) != wantID || !m.Error.Present() {
				t.Errorf("Parse = %+v", m)
			}

			// And the Go SDK reads it as the error it is (it refuses a null
			// id, which JSON-RPC allows only for errors without a request).
			if wantID == "null" {
				return
			}
			msg, err := sdkjsonrpc.DecodeMessage(got)
			if err != nil {
				t.Fatalf("the Go SDK cannot decode it: %v", err)
			}
			resp, ok := msg.(*sdkjsonrpc.Response)
			if !ok {
				t.Fatalf("the Go SDK reads a %T", msg)
			}
			var we *sdkjsonrpc.Error
			errors.As(resp.Error, &we)
			wantMsg := tt.wantMsg
			if wantMsg == "" {
				wantMsg = tt.message
			}
			if we == nil || we.Code != int64(tt.code) || we.Message != wantMsg {
				t.Errorf("the Go SDK reads error %+v, want code %d message %q", resp.Error, tt.code, wantMsg)
			}
		})
	}
}
