package filter

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/extract"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/provenance"
)

// DefaultMaxPending bounds the client requests a session tracks at once.
const DefaultMaxPending = 10000

// maxTasks bounds the task ids a session remembers.
const maxTasks = 4096

// Request is a client request the filter is waiting to see answered.
type Request struct {
	ID     []byte // the id exactly as the client sent it
	Method string
	// ReadAs is the method whose reader extracts the response: Method,
	// except for tasks/result, whose result is that of the task's request.
	ReadAs     string
	URI        string
	Tool       string
	Prompt     string
	ArgsSHA256 string
	// Client and ProtocolVersion, when the request carried them (stateless
	// revision); the session's otherwise.
	Client          ctxguard.Peer
	ProtocolVersion string
	Task            bool
	Sent            time.Time
}

// Session is one client's session through the filter: who the client is,
// and which of its requests are unanswered. It is safe for concurrent use.
type Session struct {
	Server    string
	Transport string
	ID        string
	// MaxPending bounds the pending table; DefaultMaxPending when zero.
	MaxPending int

	mu       sync.Mutex
	caller   *ctxguard.Caller
	client   ctxguard.Peer
	version  string
	pending  map[string][]*Request
	npending int
	tasks    map[string]*Request
	// toolNames are the server's tools from its last tools/list; toolsVer
	// changes whenever they do (scan results are cached per version).
	toolNames []string
	toolsVer  uint64
	// lastRead is the SHA-256 of each resource's last read, and updated
	// the resources the server announced as updated since: their next
	// read is compared with the last one.
	lastRead map[string]string
	updated  map[string]bool
}

// maxLastRead bounds the resources whose last read a session remembers.
const maxLastRead = 4096

// markUpdated notes that the server announced uri as updated.
func (s *Session) markUpdated(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updated == nil || len(s.updated) >= maxLastRead {
		s.updated = map[string]bool{}
	}
	s.updated[uri] = true
}

// readOf notes a read of uri with content sha and returns, when the server
// had announced uri as updated, what changed since the last read.
func (s *Session) readOf(uri, sha string) (note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, seen := s.lastRead[uri]
	if s.updated[uri] {
		delete(s.updated, uri)
		switch {
		case !seen:
			note = "announced as updated; not read before in this session"
		case prev == sha:
			note = "announced as updated; unchanged since the last read"
		default:
			note = "announced as updated; changed since the last read (sha256 was " + prev + ")"
		}
	}
	if s.lastRead == nil || len(s.lastRead) >= maxLastRead {
		s.lastRead = map[string]string{}
	}
	s.lastRead[uri] = sha
	return note
}

// maxTools bounds the tool names a session remembers.
const maxTools = 1000

// learnTools adds the tool names a tools/list response (or one page of it)
// announced.
func (s *Session) learnTools(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for _, n := range names {
		if len(s.toolNames) < maxTools && !slices.Contains(s.toolNames, n) {
			s.toolNames = append(s.toolNames, n)
			added = true
		}
	}
	if added {
		s.toolsVer++
	}
}

// tools returns the server's tool names and their version.
func (s *Session) tools() ([]string, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clip(s.toolNames), s.toolsVer
}

// NewSession returns a session of the given server, transport and id.
func NewSession(server, transport, id string) *Session {
	return &Session{Server: server, Transport: transport, ID: id,
		pending: map[string][]*Request{}, tasks: map[string]*Request{}}
}

// FromClient reads a frame the client sent, remembers its requests, and
// returns the error responses the filter itself owes the client (for
// requests it refuses). The frame is forwarded to the server unchanged
// unless forward is false, which happens only when every message in it was
// refused.
func (s *Session) FromClient(frame []byte) (replies [][]byte, forward bool) {
	f, err := jsonrpc.Parse(frame)
	if err != nil {
		// Not ours to judge: the server answers malformed input itself.
		return nil, true
	}
	refused := 0
	for _, m := range f.Messages {
		if m.Kind != jsonrpc.Request {
			continue
		}
		if err := s.track(frame, m); err != nil {
			replies = append(replies, jsonrpc.ErrorResponse(m.ID.Of(frame), ctxguard.CodeTooManyPending, err.Error()))
			refused++
		}
	}
	// A batch is forwarded whole; refusing part of it would mean
	// rewriting the client's bytes, and the server's answer to a refused
	// request is then an unknown id, which the filter still inspects.
	return replies, refused == 0 || refused < len(f.Messages)
}

type tooManyPending struct{ max int }

func (e tooManyPending) Error() string {
	return "ctxguard: too many unanswered requests; retry when some are answered"
}

func (s *Session) track(frame []byte, m jsonrpc.Message) error {
	key, ok := jsonrpc.IDKey(m.ID.Of(frame))
	if !ok {
		return nil // an id the server will reject; nothing to correlate
	}
	facts, _ := extract.ReadRequest(frame, m) // a malformed params is the server's to reject
	r := &Request{
		ID:              bytes.Clone(m.ID.Of(frame)),
		Method:          m.Method,
		ReadAs:          m.Method,
		URI:             facts.URI,
		Client:          facts.Client,
		ProtocolVersion: facts.ProtocolVersion,
		Task:            facts.Task,
		Sent:            time.Now(),
	}
	switch m.Method {
	case "tools/call":
		r.Tool = facts.Name
	case "prompts/get":
		r.Prompt = facts.Name
	}
	if facts.Arguments != nil {
		r.ArgsSHA256 = provenance.SHA256Hex(facts.Arguments)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	max := s.MaxPending
	if max <= 0 {
		max = DefaultMaxPending
	}
	if s.npending >= max {
		return tooManyPending{max}
	}
	if m.Method == "initialize" {
		s.client, s.version = facts.Client, facts.ProtocolVersion
	}
	if m.Method == "tasks/result" {
		if orig := s.tasks[facts.TaskID]; orig != nil {
			r.ReadAs, r.URI, r.Tool, r.Prompt, r.ArgsSHA256 = orig.Method, orig.URI, orig.Tool, orig.Prompt, orig.ArgsSHA256
		}
	}
	s.pending[key] = append(s.pending[key], r)
	s.npending++
	return nil
}

// take removes and returns the oldest pending request with the given raw
// id, or nil.
func (s *Session) take(id []byte) *Request {
	key, ok := jsonrpc.IDKey(id)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.pending[key]
	if len(q) == 0 {
		return nil
	}
	r := q[0]
	if len(q) == 1 {
		delete(s.pending, key)
	} else {
		s.pending[key] = q[1:]
	}
	s.npending--
	return r
}

// answered notes what a response taught the filter: the negotiated protocol
// version of initialize, the task a task-augmented request created.
func (s *Session) answered(frame []byte, m jsonrpc.Message, r *Request) {
	switch {
	case r.Method == "initialize":
		if v := extract.ResultVersion(frame, m); v != "" {
			s.mu.Lock()
			s.version = v
			s.mu.Unlock()
		}
	case r.Task:
		if id := extract.CreatedTask(frame, m); id != "" {
			s.mu.Lock()
			if len(s.tasks) >= maxTasks {
				clear(s.tasks) // forget old tasks rather than grow without bound
			}
			s.tasks[id] = r
			s.mu.Unlock()
		}
	}
}

// Abandon removes and returns those of the requests with the given raw ids
// that are still unanswered: over HTTP, the requests of one POST whose
// response stream ended early.
func (s *Session) Abandon(ids [][]byte) []*Request {
	var out []*Request
	for _, id := range ids {
		if r := s.take(id); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// Pending removes and returns every unanswered request, oldest first, as
// when the server went away.
func (s *Session) Pending() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Request
	for _, q := range s.pending {
		out = append(out, q...)
	}
	clear(s.pending)
	s.npending = 0
	sortBySent(out)
	return out
}

// PendingCount returns the number of unanswered requests.
func (s *Session) PendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.npending
}

// SetCaller records who calls in this session (over HTTP), for the
// records of what follows.
func (s *Session) SetCaller(c *ctxguard.Caller) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caller = c
}

// origin returns the origin of a message answering r (nil for messages
// that answer no known request).
func (s *Session) origin(kind jsonrpc.Kind, method string, id []byte, r *Request) ctxguard.Origin {
	s.mu.Lock()
	o := ctxguard.Origin{
		Server: s.Server, Transport: s.Transport, Session: s.ID,
		Client: s.client, ProtocolVersion: s.version,
		Message: kind.String(), Method: method, Caller: s.caller,
	}
	s.mu.Unlock()
	if len(id) > 0 {
		o.RequestID = bytes.Clone(id)
	}
	if r != nil {
		o.URI, o.Tool, o.Prompt, o.ArgsSHA256 = r.URI, r.Tool, r.Prompt, r.ArgsSHA256
		if r.Client != (ctxguard.Peer{}) {
			o.Client = r.Client
		}
		if r.ProtocolVersion != "" {
			o.ProtocolVersion = r.ProtocolVersion
		}
	}
	return o
}
