package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ctxguard/ctxguard/filter/jsonrpc"
)

// fuzzMethods are the methods FuzzMessage reads every message as: every
// method with a reader, one without content, and unknown ones.
var fuzzMethods = []string{
	"", "x/unknown", "ping", "tasks/result",
	"initialize", "server/discover", "tools/list", "resources/list", "resources/templates/list",
	"prompts/list", "resources/read", "tools/call", "prompts/get", "completion/complete",
	"sampling/createMessage", "elicitation/create", "notifications/message", "notifications/progress",
}

// FuzzMessage reads every message of every frame jsonrpc.Parse accepts as
// each of fuzzMethods: extraction must not panic, fails only for nesting
// past MaxDepth, and every item's span is a JSON value of the frame at the
// item's path.
func FuzzMessage(f *testing.F) {
	for _, tm := range loadMessages(f) {
		f.Add(tm.frame)
	}
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a"}]}},{"jsonrpc":"2.0","method":"notifications/progress","params":{"message":"m"}}]`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		parsed, err := jsonrpc.Parse(frame)
		if err != nil {
			return
		}
		for _, m := range parsed.Messages {
			for _, method := range append(fuzzMethods, m.Method) {
				items, err := Message(frame, m, method)
				if err != nil {
					if !errors.Is(err, ErrTooDeep) {
						t.Fatalf("Message(%q) as %s: %v", frame, method, err)
					}
					continue
				}
				for _, it := range items {
					if it.Start < 0 || it.Start > it.End || it.End > len(frame) {
						t.Fatalf("item %s: span [%d,%d) outside the %d-byte frame", it.Path, it.Start, it.End, len(frame))
					}
				}
				if json.Valid(frame) { // checkItems resolves paths with a strict decoder
					checkItems(t, frame, m, items)
				}
			}

			q, err := ReadRequest(frame, m)
			if err != nil && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("ReadRequest(%q): %v", frame, err)
			}
			if q.Arguments != nil && (!json.Valid(q.Arguments) || !bytes.Contains(m.Params.Of(frame), q.Arguments)) {
				t.Fatalf("ReadRequest(%q): Arguments %q are not a value of the params", frame, q.Arguments)
			}
			CreatedTask(frame, m)
			ResultVersion(frame, m)
		}
	})
}
