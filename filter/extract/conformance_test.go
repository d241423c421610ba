package extract

import (
	"encoding/json"
	"strings"
	"testing"

	sdkjsonrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMessagesAreMCP reads every test message that is not hostile- with the
// official Go SDK, so the golden tests run on the wire format real peers
// send: the envelope with its JSON-RPC decoder, the result or params with
// the SDK's type for the method.
func TestMessagesAreMCP(t *testing.T) {
	types := map[string]func() any{
		"initialize":               func() any { return new(mcp.InitializeResult) },
		"server/discover":          func() any { return new(mcp.DiscoverResult) },
		"tools/list":               func() any { return new(mcp.ListToolsResult) },
		"resources/list":           func() any { return new(mcp.ListResourcesResult) },
		"resources/templates/list": func() any { return new(mcp.ListResourceTemplatesResult) },
		"prompts/list":             func() any { return new(mcp.ListPromptsResult) },
		"resources/read":           func() any { return new(mcp.ReadResourceResult) },
		"tools/call":               func() any { return new(mcp.CallToolResult) },
		"prompts/get":              func() any { return new(mcp.GetPromptResult) },
		"completion/complete":      func() any { return new(mcp.CompleteResult) },
		"sampling/createMessage":   func() any { return new(mcp.CreateMessageWithToolsParams) },
		"elicitation/create":       func() any { return new(mcp.ElicitParams) },
		"notifications/message":    func() any { return new(mcp.LoggingMessageParams) },
		"notifications/progress":   func() any { return new(mcp.ProgressNotificationParams) },
	}
	for _, tm := range loadMessages(t) {
		if strings.HasPrefix(tm.name, "hostile-") {
			continue
		}
		t.Run(tm.name, func(t *testing.T) {
			msg, err := sdkjsonrpc.DecodeMessage(tm.frame)
			if err != nil {
				t.Fatalf("the Go SDK cannot decode the envelope: %v", err)
			}
			var body json.RawMessage
			switch msg := msg.(type) {
			case *sdkjsonrpc.Request:
				body = msg.Params
			case *sdkjsonrpc.Response:
				if msg.Error != nil {
					return // an error has no result to check
				}
				body = msg.Result
			}
			newValue := types[tm.method]
			if newValue == nil {
				return // a method the SDK has no type for
			}
			if err := json.Unmarshal(body, newValue()); err != nil {
				t.Errorf("the Go SDK cannot read it as %s: %v", tm.method, err)
			}
		})
	}
}
