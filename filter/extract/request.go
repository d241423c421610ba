package extract

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
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
	t, err := parse(frame, m.Params.Start, m.Params.End)
	if err != nil {
		return q, err
	}
	p := t.root
	peer := func(n *node) ctxguard.Peer {
		return ctxguard.Peer{Name: t.str(n.get("name")), Version: t.str(n.get("version"))}
	}
	switch m.Method {
	case "initialize":
		q.Client = peer(p.get("clientInfo"))
		q.ProtocolVersion = t.str(p.get("protocolVersion"))
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		q.URI = t.str(p.get("uri"))
	case "tools/call", "prompts/get":
		q.Name = t.str(p.get("name"))
		if a := p.get("arguments"); a != nil {
			q.Arguments = frame[a.start:a.end]
		}
	case "completion/complete":
		ref := p.get("ref")
		q.URI = t.str(ref.get("uri"))
		q.Name = t.str(ref.get("name"))
	case "tasks/result", "tasks/get", "tasks/cancel":
		q.TaskID = t.str(p.get("taskId"))
	}
	if meta := p.get("_meta"); meta != nil {
		if v := t.str(meta.get(metaProtocolVersion)); v != "" {
			q.ProtocolVersion = v
		}
		if ci := meta.get(metaClientInfo); ci != nil {
			q.Client = peer(ci)
		}
	}
	q.Task = p.get("task") != nil
	return q, nil
}

// CreatedTask returns the id of the task a task-augmented request's result
// announces, or "".
func CreatedTask(frame []byte, m jsonrpc.Message) string {
	if !m.Result.Present() {
		return ""
	}
	t, err := parse(frame, m.Result.Start, m.Result.End)
	if err != nil {
		return ""
	}
	return t.str(t.root.get("task").get("taskId"))
}

// ResultVersion returns the protocolVersion of an initialize result.
func ResultVersion(frame []byte, m jsonrpc.Message) string {
	if !m.Result.Present() {
		return ""
	}
	t, err := parse(frame, m.Result.Start, m.Result.End)
	if err != nil {
		return ""
	}
	return t.str(t.root.get("protocolVersion"))
}
