// Package httpproxy is the filter over MCP's Streamable HTTP transport: a
// reverse proxy in front of remote MCP servers. Each POST body is a frame
// from the client; each response (a JSON body, or every event of an SSE
// stream, as it flows) is a frame from the server that runs through the
// same filter chain as over stdio. Everything the filter does not change
// passes unchanged, headers included.
package httpproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
)

// Upstream is one remote MCP server.
type Upstream struct {
	// Name, when set, mounts the server at /Name + its endpoint's path;
	// else at its endpoint's own path.
	Name string
	URL  *url.URL
}

// ParseUpstream reads "URL" or "NAME=URL".
func ParseUpstream(s string) (Upstream, error) {
	var u Upstream
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "/") && !strings.Contains(name, ":") {
		if name == "" {
			return u, fmt.Errorf("upstream %q: empty name", s)
		}
		u.Name, s = name, rest
	}
	p, err := url.Parse(s)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return u, fmt.Errorf("upstream %q: want http(s)://host[:port]/path or NAME=URL", s)
	}
	if p.Path == "" {
		p.Path = "/"
	}
	u.URL = p
	return u, nil
}

// Options configure a Proxy.
type Options struct {
	Upstreams []Upstream
	Filter    *filter.Filter
	// Client talks to the upstreams. Default: a transport that waits at
	// most UpstreamTimeout for an upstream's response headers, with no
	// overall timeout (streams are long-lived).
	Client *http.Client
	// UpstreamTimeout bounds the wait for an upstream to connect and to
	// start its answer (default 30s).
	UpstreamTimeout time.Duration
	// MaxBody bounds a request body, a JSON response and one SSE event
	// (default 64 MiB).
	MaxBody int64
	// MaxPending bounds each session's unanswered requests.
	MaxPending int
	// Hosts are the host names the proxy answers to (Host header, and the
	// host of an Origin header); empty: any. A proxy on loopback should
	// list LoopbackHosts. Origins are further origins allowed to call it.
	Hosts, Origins []string
	Logger         *slog.Logger
}

// Proxy serves the upstreams through the filter. It is an http.Handler.
type Proxy struct {
	opts   Options
	log    *slog.Logger
	mounts []*mount
	guard  hostGuard

	mu       sync.Mutex
	sessions map[string]*filter.Session // mount endpoint + "\x00" + Mcp-Session-Id
}

type mount struct {
	up       Upstream
	prefix   string // "/NAME" or ""
	endpoint string // the path served: prefix + the upstream's path
	other    *httputil.ReverseProxy
}

// New returns a Proxy.
func New(opts Options) (*Proxy, error) {
	if opts.Filter == nil {
		return nil, errors.New("httpproxy: no filter")
	}
	if len(opts.Upstreams) == 0 {
		return nil, errors.New("httpproxy: no upstream")
	}
	if opts.UpstreamTimeout <= 0 {
		opts.UpstreamTimeout = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: opts.UpstreamTimeout}).DialContext,
			TLSHandshakeTimeout:   opts.UpstreamTimeout,
			ResponseHeaderTimeout: opts.UpstreamTimeout,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{opts: opts, log: opts.Logger, sessions: map[string]*filter.Session{}}
	for _, h := range opts.Hosts {
		p.guard.hosts = append(p.guard.hosts, hostName(h))
	}
	p.guard.origins = opts.Origins
	seen := map[string]bool{}
	for _, u := range opts.Upstreams {
		m := &mount{up: u}
		if u.Name != "" {
			m.prefix = "/" + u.Name
		}
		m.endpoint = m.prefix + u.URL.Path
		if seen[m.endpoint] {
			return nil, fmt.Errorf("httpproxy: two upstreams served at %s: name them (NAME=URL)", m.endpoint)
		}
		if len(opts.Upstreams) > 1 && u.Name == "" {
			return nil, fmt.Errorf("httpproxy: with several upstreams, each needs a name (NAME=URL): %s", u.URL)
		}
		seen[m.endpoint] = true
		target := *u.URL
		m.other = &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
				r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, m.prefix)
				r.Out.URL.RawPath = ""
				r.Out.Host = target.Host
			},
			Transport: opts.Client.Transport,
		}
		p.mounts = append(p.mounts, m)
	}
	return p, nil
}

// CloseIdleConnections closes the connections to the upstreams that no
// request uses (at shutdown, or to account for goroutines).
func (p *Proxy) CloseIdleConnections() { p.opts.Client.CloseIdleConnections() }

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.guard.allows(r) {
		p.log.Warn("proxy: refused a request for a host or origin it does not serve", "host", r.Host, "origin", r.Header.Get("Origin"))
		http.Error(w, "ctxguard: host or origin not allowed", http.StatusForbidden)
		return
	}
	for _, m := range p.mounts {
		if r.URL.Path == m.endpoint {
			p.serveMCP(w, r, m)
			return
		}
	}
	// Anything else under a mount (OAuth discovery documents, for one)
	// is the upstream's business and passes as it is, but for the message
	// posts of a legacy SSE session, which the filter must see to read the
	// responses the stream carries.
	for _, m := range p.mounts {
		if m.prefix == "" || strings.HasPrefix(r.URL.Path, m.prefix+"/") {
			if s := p.legacySession(m, r); s != nil && r.Method == http.MethodPost {
				p.postTo(w, r, m, s, false)
				return
			}
			m.other.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

const sessionHeader = "Mcp-Session-Id"

func (p *Proxy) serveMCP(w http.ResponseWriter, r *http.Request, m *mount) {
	switch r.Method {
	case http.MethodPost:
		p.post(w, r, m)
	case http.MethodGet:
		p.forward(w, r, m, nil, nil, p.session(m, r.Header.Get(sessionHeader)))
	case http.MethodDelete:
		p.forward(w, r, m, nil, nil, nil)
		p.dropSession(m, r.Header.Get(sessionHeader))
	default:
		p.forward(w, r, m, nil, nil, nil)
	}
}

// session returns the filter session of an Mcp-Session-Id, creating it; a
// request without one (initialize, or a stateless server) gets a session
// of its own.
func (p *Proxy) session(m *mount, id string) *filter.Session {
	if id == "" {
		return p.newSession(m, newID())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := m.endpoint + "\x00" + id
	s := p.sessions[key]
	if s == nil {
		s = p.newSession(m, id)
		p.sessions[key] = s
	}
	return s
}

func (p *Proxy) newSession(m *mount, id string) *filter.Session {
	name := m.up.Name
	if name == "" {
		name = m.up.URL.Host
	}
	s := filter.NewSession(name, "streamable-http", id)
	s.MaxPending = p.opts.MaxPending
	return s
}

// adopt files a session under the id the server gave it (in its answer to
// initialize).
func (p *Proxy) adopt(m *mount, id string, s *filter.Session) {
	if id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := m.endpoint + "\x00" + id
	if _, ok := p.sessions[key]; !ok {
		s.ID = id
		p.sessions[key] = s
	}
}

func (p *Proxy) dropSession(m *mount, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.sessions, m.endpoint+"\x00"+id)
}

func (p *Proxy) post(w http.ResponseWriter, r *http.Request, m *mount) {
	s := p.legacySession(m, r)
	if s != nil {
		p.postTo(w, r, m, s, false)
		return
	}
	p.postTo(w, r, m, p.session(m, r.Header.Get(sessionHeader)), true)
}

// postTo reads a client's POST as a frame of session s and forwards it.
// The MCP headers of the Streamable HTTP transport are checked against
// the body (streamable); the legacy SSE transport's posts have none.
func (p *Proxy) postTo(w http.ResponseWriter, r *http.Request, m *mount, s *filter.Session, streamable bool) {
	body, err := readUnsized(http.MaxBytesReader(w, r.Body, p.opts.MaxBody), p.opts.MaxBody+1)
	if err != nil {
		http.Error(w, fmt.Sprintf("ctxguard: request body over %d bytes", p.opts.MaxBody), http.StatusRequestEntityTooLarge)
		return
	}
	// The body is parsed once here for the proxy's own reading of it: the
	// header check, and the ids of its requests, which the proxy answers
	// itself if the upstream does not. (The filter session reads it on
	// its own.) A body that is not JSON-RPC has no messages.
	f, _ := jsonrpc.Parse(body)
	if streamable {
		if why := checkHeaders(r.Header, f); why != "" {
			p.log.Warn("proxy: refused a request whose MCP headers disagree with its body", "why", why)
			headerMismatch(w, f, body, why)
			return
		}
	}
	var ids [][]byte
	for _, m := range f.Messages {
		if m.Kind == jsonrpc.Request {
			ids = append(ids, m.ID.Of(body))
		}
	}
	s.SetCaller(callerOf(r))
	replies, forward := s.FromClient(body)
	if !forward {
		w.Header().Set("Content-Type", "application/json")
		w.Write(batch(replies))
		return
	}
	// Requests the filter refused in a batch it forwards anyway are
	// answered by the server with an unknown-id error; the refusals are
	// not sent separately over HTTP, where one response answers one POST.
	p.forward(w, r, m, body, ids, s)
}

// forward sends the request upstream and the response back, through the
// filter when it is JSON-RPC (a JSON body or an SSE stream) and s is set.
// ids are the ids of the requests in body.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, m *mount, body []byte, ids [][]byte, s *filter.Session) {
	out, err := p.upstreamRequest(r, m, body)
	if err != nil {
		http.Error(w, "ctxguard: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := p.opts.Client.Do(out)
	if err != nil {
		p.log.Warn("proxy: upstream unreachable", "upstream", m.up.URL.Redacted(), "err", err)
		p.upstreamFailed(w, ids, err)
		return
	}
	defer resp.Body.Close()
	if s != nil && r.Header.Get(sessionHeader) == "" {
		p.adopt(m, resp.Header.Get(sessionHeader), s)
	}
	copyHeader(w.Header(), resp.Header)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case s != nil && mt == "application/json" && body != nil:
		p.json(w, r.Context(), resp, s)
	case s != nil && mt == "text/event-stream":
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		// The client learns the stream is open now, not at its first
		// event, which may be long in coming (a GET stream, a listen).
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		p.stream(w, r.Context(), resp.Body, s, m)
		if body != nil {
			p.abandoned(w, s, ids)
		}
	default:
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}
}

// upstreamRequest is the client's request, for the upstream.
func (p *Proxy) upstreamRequest(r *http.Request, m *mount, body []byte) (*http.Request, error) {
	u := *m.up.URL
	if r.URL.Path != m.endpoint {
		u.Path, u.RawPath = strings.TrimPrefix(r.URL.Path, m.prefix), ""
	}
	u.RawQuery = r.URL.RawQuery
	var rd io.Reader = r.Body
	if body != nil {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	copyHeader(out.Header, r.Header)
	// The filter reads the upstream's bytes: let the transport ask for
	// compression and undo it, rather than pass the client's choice on.
	out.Header.Del("Accept-Encoding")
	// The proxy checked the Origin against its own names; the upstream,
	// which has other names, would refuse it (its own DNS rebinding
	// check). The request to it comes from the proxy, not a browser.
	out.Header.Del("Origin")
	if body != nil {
		out.ContentLength = int64(len(body))
	}
	return out, nil
}

// upstreamFailed answers the client's requests (their ids) with errors.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, ids [][]byte, cause error) {
	var replies [][]byte
	for _, id := range ids {
		replies = append(replies, jsonrpc.ErrorResponse(id, ctxguard.CodeServerExited, "ctxguard: the upstream server could not be reached"))
	}
	if len(replies) == 0 {
		http.Error(w, "ctxguard: the upstream server could not be reached", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	w.Write(batch(replies))
}

// abandoned answers, at the end of a POST's event stream, the requests of
// its body (their ids) that the stream left unanswered (the upstream
// closed it early), so that the client is not left waiting.
func (p *Proxy) abandoned(w http.ResponseWriter, s *filter.Session, ids [][]byte) {
	for _, r := range s.Abandon(ids) {
		e := jsonrpc.ErrorResponse(r.ID, ctxguard.CodeServerExited, "ctxguard: the upstream's event stream ended before it answered")
		if _, err := fmt.Fprintf(w, "event: message\ndata: %s\n\n", e); err != nil {
			return
		}
	}
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// json filters a JSON response.
func (p *Proxy) json(w http.ResponseWriter, ctx context.Context, resp *http.Response, s *filter.Session) {
	b, err := readBody(resp, p.opts.MaxBody)
	if err != nil || int64(len(b)) > p.opts.MaxBody {
		w.Header().Del("Content-Length")
		http.Error(w, "ctxguard: the upstream's response could not be read whole, or is over the size limit, and was withheld", http.StatusBadGateway)
		return
	}
	out := p.frame(ctx, s, b)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// maxPrealloc bounds the buffer a response's Content-Length earns before
// its bytes arrive: the length is the upstream's claim, and an upstream
// that announced the size limit on every response and sent nothing would
// otherwise hold that much memory for each open request.
const maxPrealloc = 1 << 20

// readBody reads a response of at most max bytes (one more tells it is
// over). When the upstream says its length (the HTTP client holds the body
// to that length, and fails one that ends short), a body of up to
// maxPrealloc is read in one allocation, and a longer one in a buffer that
// grows, doubling, as its bytes arrive. Without a length (a chunked
// answer, as SDK servers send any JSON body larger than net/http's buffer)
// it is read into pooled scratch and copied out once at its size.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	n := resp.ContentLength
	if n < 0 || n > max {
		return readUnsized(resp.Body, max+1)
	}
	b := make([]byte, 0, min(n, maxPrealloc))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(n-int64(len(b)), int64(cap(b)))))
		}
		k, err := resp.Body.Read(b[len(b):int(min(int64(cap(b)), n))])
		b = b[:len(b)+k]
		if err == io.EOF && int64(len(b)) < n {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return b, nil
}

// scratch holds the buffers readUnsized reads into; buffers that grew past
// maxPrealloc are left to the collector, so the pool holds little.
var scratch = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getScratch() *bytes.Buffer { return scratch.Get().(*bytes.Buffer) }

func putScratch(buf *bytes.Buffer) {
	if buf.Cap() <= maxPrealloc {
		buf.Reset()
		scratch.Put(buf)
	}
}

// readUnsized reads r to its end, or to limit bytes, into a slice of just
// its size: io.ReadAll's slice, grown a step at a time, costs about twice
// the body in garbage, and these bodies are the proxy's hot path.
func readUnsized(r io.Reader, limit int64) ([]byte, error) {
	buf := getScratch()
	defer putScratch(buf)
	_, err := buf.ReadFrom(io.LimitReader(r, limit))
	return bytes.Clone(buf.Bytes()), err
}

// frame runs one frame from the server through the filter and returns what
// the client gets; error replies it owes the server (for server requests it
// withheld) are sent upstream on their own.
func (p *Proxy) frame(ctx context.Context, s *filter.Session, b []byte) []byte {
	f := p.opts.Filter
	out, toServer := f.Process(ctx, f.Correlate(s, b))
	if len(toServer) > 0 {
		p.log.Warn("proxy: a server request was withheld", "server", s.Server, "count", len(toServer))
	}
	return out
}

// stream filters an SSE stream event by event as it flows: each event's
// data is a frame; ids, event names, retry fields and comments pass as
// they came. The event's data is copied once out of the read buffer, and
// lines are handled as bytes, not strings: every byte of every response
// passes here.
func (p *Proxy) stream(w http.ResponseWriter, ctx context.Context, body io.Reader, s *filter.Session, m *mount) {
	fl, _ := w.(http.Flusher)
	// A small read buffer: a stream may idle for hours, and events longer
	// than it are read in several reads, not refused (next bounds them).
	// The read buffer, the long-line scratch and the output buffer are
	// the stream's alone and none of their bytes outlive it (frames are
	// copied out of them), so they come from pools: every POST answered
	// with a stream would otherwise make and drop all three.
	rd := streamReaders.Get().(*bufio.Reader)
	rd.Reset(body)
	long, out := getScratch(), getScratch()
	defer func() {
		rd.Reset(nil)
		streamReaders.Put(rd)
		putScratch(long)
		putScratch(out)
	}()
	lr := &lineReader{rd: rd, max: p.opts.MaxBody, long: long}
	var (
		lines   []string // the event's lines but its data lines
		dataAt  = -1     // where in lines its data goes: at its first data line
		data    []byte   // its data lines' values, joined by newlines
		size    int64    // the event's lines so far, with one byte between each two
		hasData bool
	)
	flush := func() {
		if len(lines) == 0 && !hasData {
			return
		}
		defer func() { lines, dataAt, data, hasData = lines[:0], -1, nil, false }()
		if eventName(lines) == "endpoint" {
			// The legacy (2024-11-05) transport's first event says where
			// to post messages: bind that session here, and point the
			// client at the proxy's path for it.
			all, parts := withData(lines, dataAt, data, hasData)
			p.rewriteEndpoint(all, parts, m, s)
			w.Write([]byte(strings.Join(all, "\n") + "\n\n"))
			if fl != nil {
				fl.Flush()
			}
			return
		}
		out.Reset()
		out.Grow(len(data) + 64*len(lines) + 64)
		writeData := func() {
			frame := data
			if frame == nil {
				frame = []byte{}
			}
			if len(bytes.TrimSpace(frame)) > 0 {
				frame = p.frame(ctx, s, frame)
			}
			if frame == nil {
				return // withheld whole: the event goes without data
			}
			for {
				part, rest, more := bytes.Cut(frame, []byte{'\n'})
				out.WriteString("data: ")
				out.Write(part)
				out.WriteByte('\n')
				if !more {
					break
				}
				frame = rest
			}
		}
		for i, l := range lines {
			if i == dataAt {
				writeData()
			}
			out.WriteString(l)
			out.WriteByte('\n')
		}
		if hasData && dataAt == len(lines) {
			writeData()
		}
		out.WriteByte('\n')
		w.Write(out.Bytes())
		if fl != nil {
			fl.Flush()
		}
	}
	for {
		// One event, all its lines together, is held to MaxBody, not only
		// each line: else an upstream that sends data lines (or comments)
		// and never the blank line that ends the event is held without
		// bound. The line reader stops at what is left of the event's
		// budget, so no line past it is read whole either.
		lr.max = p.opts.MaxBody
		if size > 0 {
			lr.max = max(p.opts.MaxBody-size-1, 0)
		}
		line, owned, err := lr.next()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				err = fmt.Errorf("an event over %d bytes", p.opts.MaxBody)
			}
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				p.log.Warn("proxy: upstream event stream ended", "upstream", m.up.URL.Redacted(), "err", err)
			}
			// An event the stream ended inside is not an event (the SSE
			// rules drop it too).
			return
		}
		if len(line) == 0 {
			flush()
			size = 0
			continue
		}
		if size > 0 {
			size++
		}
		size += int64(len(line))
		if !isData(line) {
			lines = append(lines, string(line))
			continue
		}
		v := line[len("data"):]
		v = bytes.TrimPrefix(v, []byte{':'})
		v = bytes.TrimPrefix(v, []byte{' '})
		switch {
		case !hasData && owned:
			// A line longer than the read buffer was put together in a
			// slice of its own: the frame is that slice, not a copy.
			hasData, dataAt, data = true, len(lines), v
		case !hasData:
			// The frame is handed to the filter, which may keep it: a new
			// slice for each event, sized for the line at hand.
			hasData, dataAt = true, len(lines)
			data = append(make([]byte, 0, len(v)), v...)
		default:
			data = append(append(data, '\n'), v...)
		}
	}
}

// withData returns an event's lines with its data lines put back (at
// dataAt), and the data lines' values.
func withData(lines []string, dataAt int, data []byte, hasData bool) (all, parts []string) {
	if !hasData {
		return append([]string(nil), lines...), nil
	}
	parts = strings.Split(string(data), "\n")
	all = append(all, lines[:dataAt]...)
	for _, v := range parts {
		all = append(all, "data: "+v)
	}
	return append(all, lines[dataAt:]...), parts
}

func isData[T string | []byte](line T) bool {
	return string(line) == "data" || len(line) > 5 && string(line[:5]) == "data:"
}

// lineReader reads the lines of an event stream, each at most max bytes,
// without their ends (LF, CR or CRLF, as SSE allows). A line that fits in
// the read buffer is returned as a slice of it, valid only until the next
// call; a longer one is put together in scratch and returned in a slice of
// its own size, which the caller then owns.
type lineReader struct {
	rd     *bufio.Reader
	max    int64
	long   *bytes.Buffer // a line longer than the buffer, as it is put together
	skipLF bool          // the last line ended with CR: a LF right after it is part of its end
}

// streamReaders holds the event streams' read buffers: small, because a
// stream may idle for hours, and events longer than one are read in
// several reads, not refused (lineReader.next bounds them).
var streamReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// errLineTooLong is the line reader's error for a line over its limit.
var errLineTooLong = errors.New("an event line too long")

func (lr *lineReader) next() (line []byte, owned bool, err error) {
	if lr.long == nil {
		lr.long = new(bytes.Buffer)
	}
	lr.long.Reset()
	for {
		b, _ := lr.rd.Peek(lr.rd.Buffered())
		if len(b) == 0 {
			if _, err := lr.rd.Peek(1); err != nil {
				return nil, false, err
			}
			continue
		}
		if lr.skipLF {
			lr.skipLF = false
			if b[0] == '\n' {
				lr.rd.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		n := i
		if i < 0 {
			n = len(b)
		}
		if int64(lr.long.Len()+n) > lr.max {
			return nil, false, fmt.Errorf("%w: over %d bytes", errLineTooLong, lr.max)
		}
		if i < 0 {
			lr.long.Write(b)
			lr.rd.Discard(len(b))
			continue
		}
		line, owned = b[:i], lr.long.Len() > 0
		if owned {
			line = append(append(make([]byte, 0, lr.long.Len()+i), lr.long.Bytes()...), line...)
		}
		lr.skipLF = b[i] == '\r'
		// Discarding buffered bytes does not read: line stays valid.
		lr.rd.Discard(i + 1)
		return line, owned, nil
	}
}

// hopHeaders are the connection's own, not the message's (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
	dst.Del("Content-Length")
}

func batch(msgs [][]byte) []byte {
	if len(msgs) == 1 {
		return msgs[0]
	}
	return append(append([]byte{'['}, bytes.Join(msgs, []byte{','})...), ']')
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// eventName is the SSE event's type ("message" when it names none).
func eventName(lines []string) string {
	name := "message"
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "event:"); ok {
			name = strings.TrimPrefix(v, " ")
		}
	}
	return name
}

// legacyIDs are the query parameters legacy SSE servers name their
// sessions by.
var legacyIDs = []string{"sessionId", "sessionid", "session_id"}

func legacyID(q url.Values) string {
	for _, k := range legacyIDs {
		if v := q.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// legacySession returns the session a legacy SSE stream bound to the
// request's session query parameter, if any.
func (p *Proxy) legacySession(m *mount, r *http.Request) *filter.Session {
	id := legacyID(r.URL.Query())
	if id == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions[m.endpoint+"\x00legacy\x00"+id]
}

// rewriteEndpoint binds the stream's session to the endpoint event's
// session id and rewrites the endpoint, in place, to the proxy's path.
func (p *Proxy) rewriteEndpoint(lines, data []string, m *mount, s *filter.Session) {
	ep := strings.Join(data, "")
	u, err := url.Parse(ep)
	if err != nil {
		return
	}
	if id := legacyID(u.Query()); id != "" {
		s.ID = id // no message of the session has been read yet
		p.mu.Lock()
		p.sessions[m.endpoint+"\x00legacy\x00"+id] = s
		p.mu.Unlock()
	}
	// An absolute endpoint on the upstream, or an absolute path, is
	// moved under the proxy's mount; a relative one stays relative.
	switch {
	case u.IsAbs() && u.Host == m.up.URL.Host:
		u.Scheme, u.Host = "", ""
		u.Path = m.prefix + u.Path
	case strings.HasPrefix(ep, "/"):
		u.Path = m.prefix + u.Path
	default:
		return
	}
	for i, l := range lines {
		if isData(l) {
			lines[i] = "data: " + u.String()
			// An endpoint spread over several data lines keeps only the first.
			for j := i + 1; j < len(lines); j++ {
				if isData(lines[j]) {
					lines[j] = ":"
				}
			}
			return
		}
	}
}
