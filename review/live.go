package review

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ctxguard/ctxguard"
)

// Timing of the websocket connections.
const (
	writeWait  = 10 * time.Second
	pingPeriod = 30 * time.Second
	pongWait   = pingPeriod + 10*time.Second
)

// liveMessage is what the websocket sends: {"type":"item","item":{…}} for
// an item held or triaged. Content never goes out this way; the UI asks
// for it when a reviewer opens the item.
type liveMessage struct {
	Type string   `json:"type"`
	Item *Summary `json:"item,omitempty"`
}

// follow reads the queue's change log every PollInterval, from cursor on,
// and sends each changed item to the live clients. It also keeps the
// index in sync. It returns when ctx ends.
func (s *Server) follow(ctx context.Context, cursor uint64) {
	defer close(s.done)
	if s.opts.Index != nil {
		if _, err := s.opts.Index.Sync(ctx, s.opts.Queue); err != nil && ctx.Err() == nil {
			s.log.Error("review: sync the search index", "err", err)
		}
	}
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// One message per item per poll, in the order of its last change,
		// with the item as it is now.
		var order []string
		changed := map[string]*ctxguard.QuarantineItem{}
		next, err := s.opts.Queue.Changes(ctx, cursor, func(_ uint64, it *ctxguard.QuarantineItem) error {
			if _, ok := changed[it.ID]; ok {
				order = removeString(order, it.ID)
			}
			order = append(order, it.ID)
			changed[it.ID] = it
			return nil
		})
		if err != nil && ctx.Err() == nil {
			if !failing {
				s.log.Error("review: read the queue's changes (retrying)", "err", err)
			}
			failing = true
		} else if failing && err == nil {
			s.log.Info("review: reading the queue's changes again")
			failing = false
		}
		cursor = next
		var batch [][]byte
		for _, id := range order {
			sum := summarize(changed[id])
			if b, err := json.Marshal(liveMessage{Type: "item", Item: &sum}); err == nil {
				batch = append(batch, b)
			}
		}
		if len(batch) > 0 {
			s.live.broadcast(batch)
		}
		if len(order) > 0 && s.opts.Index != nil {
			if _, err := s.opts.Index.Sync(ctx, s.opts.Queue); err != nil && ctx.Err() == nil {
				s.log.Error("review: sync the search index", "err", err)
			}
		}
	}
}

func removeString(ss []string, s string) []string {
	for i, x := range ss {
		if x == s {
			return append(ss[:i], ss[i+1:]...)
		}
	}
	return ss
}

// serveLive upgrades GET /api/live to a websocket that receives the live
// messages. A browser must send an Origin naming this host.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) {
	who := reviewerOf(r)
	up := websocket.Upgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			if o == "" {
				// Only a script with a bearer token may omit it.
				return who.session == nil
			}
			u, err := url.Parse(o)
			return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
		},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			httpError(w, r, status, reason.Error())
		},
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("review: websocket refused", "reviewer", who.name, "remote", r.RemoteAddr, "origin", clip(r.Header.Get("Origin"), 200), "err", err)
		return
	}
	c := &client{conn: conn, send: make(chan [][]byte, s.live.size), done: make(chan struct{})}
	if who.session != nil {
		c.session = who.session.id
	}
	if !s.live.add(c) {
		conn.Close()
		return
	}
	go c.writeLoop(s.live, s.sessionValid)
	c.readLoop(s.live)
}

func (s *Server) sessionValid(id string) bool {
	return id == "" || s.lookupSession(id) != nil
}

// hub holds the live clients. Sending never waits for a client: each has
// a buffer of a bounded number of batches (one batch per poll, however
// many items changed), and a client whose buffer is full is disconnected
// (the UI reconnects and reloads the listing).
type hub struct {
	size int
	log  *slog.Logger

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
}

type client struct {
	conn    *websocket.Conn
	send    chan [][]byte
	session string // "" for a bearer token
	once    sync.Once
	done    chan struct{}
}

func newHub(size int, log *slog.Logger) *hub {
	return &hub{size: size, log: log, clients: map[*client]struct{}{}}
}

func (h *hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	return true
}

// count returns how many clients are connected.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// broadcast queues a batch of messages for every client.
func (h *hub) broadcast(batch [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- batch:
		default:
			h.log.Warn("review: a live client is too slow; disconnecting it", "remote", c.conn.RemoteAddr().String())
			h.dropLocked(c, websocket.CloseTryAgainLater, "too slow")
		}
	}
}

// drop disconnects c.
func (h *hub) drop(c *client, code int, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c, code, reason)
}

func (h *hub) dropLocked(c *client, code int, reason string) {
	delete(h.clients, c)
	c.once.Do(func() {
		close(c.done)
		// The writer may be stuck on a client that does not read: say why
		// with a short deadline, then cut the connection, in the
		// background so that the hub never waits.
		go func() {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			c.conn.Close()
		}()
	})
}

// endSession disconnects the clients of a session that ended.
func (h *hub) endSession(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if c.session == id {
			h.dropLocked(c, websocket.ClosePolicyViolation, "signed out")
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		h.dropLocked(c, websocket.CloseGoingAway, "server stopping")
	}
}

// writeLoop sends c's messages and pings until c is dropped; a session
// that expired ends the connection at the next ping.
func (c *client) writeLoop(h *hub, valid func(string) bool) {
	t := time.NewTicker(pingPeriod)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case batch := <-c.send:
			for _, msg := range batch {
				_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
				if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
					h.drop(c, websocket.CloseGoingAway, "write failed")
					return
				}
			}
		case <-t.C:
			if !valid(c.session) {
				h.drop(c, websocket.ClosePolicyViolation, "session expired")
				return
			}
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				h.drop(c, websocket.CloseGoingAway, "ping failed")
				return
			}
		}
	}
}

// readLoop reads (and ignores) what the client sends, so that pongs and
// close frames are handled, until the connection ends.
func (c *client) readLoop(h *hub) {
	defer h.drop(c, websocket.CloseNormalClosure, "")
	c.conn.SetReadLimit(1024)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}
