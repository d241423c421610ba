package extract

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// Request is what the filter remembers of a client request: enough to say
// what its response answers.
type Request struct {
	// URI is the resource a resources/read asks for (or a completion's
	// resource reference).
	URI string
	// Name is the tool of a tools/call, the prompt of a prompts/get.
	Name string
	// Arguments is the raw JSON of a tools/call's or prompts/get's arguments.
	Arguments []byte
	// Client and ProtocolVersion come from initialize, or from the request's
	// _meta under the stateless revision (2026-07-28).
	Client          ctxguard.Peer
	ProtocolVersion string
	// TaskID is the task a tasks/* request is about.
	TaskID string
	// Task is set when the request asks to run as a task (2025-11-25): its
	// result is then a task handle, and the content comes from tasks/result.
	Task bool
}

// Meta keys of the stateless revision.
const (
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	metaClientInfo      = "io.modelcontextprotocol/clientInfo"
)

// ReadRequest reads what the filter remembers of a client request.
func ReadRequest(frame []byte, m jsonrpc.Message) (Request, error) {
	var q Request
	if !m.Params.Present() {
		return q, nil
	}
	if m.Tree == nil {
		var err error
		if m, err = reparse(frame, m); err != nil {
			return q, err
		}
	}
	t := tree{m.Tree}
	p := m.ParamsNode
	peer := func(n node) ctxguard.Peer {
		return ctxguard.Peer{Name: t.str(t.get(n, "name")), Version: t.str(t.get(n, "version"))}
	}
	switch m.Method {
	case "initialize":
		q.Client = peer(t.get(p, "clientInfo"))
		q.ProtocolVersion = t.str(t.get(p, "protocolVersion"))
	case "resources/read", "resources/subscribe", "resources/unsubscribe", "notifications/resources/updated":
		q.URI = t.str(t.get(p, "uri"))
	case "tools/call", "prompts/get":
		q.Name = t.str(t.get(p, "name"))
		if a := t.get(p, "arguments"); a != none {
			q.Arguments = t.Raw(a)
		}
	case "completion/complete":
		ref := t.get(p, "ref")
		q.URI = t.str(t.get(ref, "uri"))
		q.Name = t.str(t.get(ref, "name"))
	case "tasks/result", "tasks/get", "tasks/cancel":
		q.TaskID = t.str(t.get(p, "taskId"))
	}
	if meta := t.get(p, "_meta"); meta != none {
		if v := t.str(t.get(meta, metaProtocolVersion)); v != "" {
			q.ProtocolVersion = v
		}
		if ci := t.get(meta, metaClientInfo); ci != none {
			q.Client = peer(ci)
		}
	}
	task := t.get(p, "task")
	q.Task = task != none && t.Kind(task) != jsontree.Null
	return q, nil
}

// resultMember returns the string at result.path[0].path[1]... of a
// response, or "".
func resultMember(frame []byte, m jsonrpc.Message, path ...string) string {
	if !m.Result.Present() {
		return ""
	}
	if m.Tree == nil {
		var err error
		if m, err = reparse(frame, m); err != nil {
			return ""
		}
	}
	t := tree{m.Tree}
	n := m.ResultNode
	for _, name := range path {
		n = t.get(n, name)
	}
	return t.str(n)
}

// CreatedTask returns the id of the task a task-augmented request's result
// announces, or "".
func CreatedTask(frame []byte, m jsonrpc.Message) string {
	return resultMember(frame, m, "task", "taskId")
}

// ResultVersion returns the protocolVersion of an initialize result.
func ResultVersion(frame []byte, m jsonrpc.Message) string {
	return resultMember(frame, m, "protocolVersion")
}
