package anomaly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Webhook.
const (
	DefaultWebhookTimeout = 5 * time.Second
	DefaultWebhookQueue   = 256
)

// Webhook posts events as JSON to a URL, one request per event, from a
// queue of its own: Send never blocks and never fails. When the queue is
// full (the endpoint is slow or down), events are dropped and counted. The
// URL may carry a secret (a token in its path or query), so it is never
// logged: only its scheme and host are.
type Webhook struct {
	url     string
	target  string // scheme://host, for the logs
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger

	mu      sync.RWMutex // guards closed against sends on the closed queue
	closed  bool
	queue   chan []byte
	done    chan struct{}
	sent    atomic.Int64
	failed  atomic.Int64
	dropped atomic.Int64
}

// NewWebhook starts a webhook to rawURL (http or https). timeout bounds
// each delivery (DefaultWebhookTimeout when zero), queue the events waiting
// (DefaultWebhookQueue when zero). It delivers until Close or until ctx is
// done (the delivery in flight then completes, within the timeout); Close
// delivers the events still queued whether ctx is done or not.
func NewWebhook(ctx context.Context, rawURL string, timeout time.Duration, queue int, log *slog.Logger) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("anomaly: the webhook URL is not an http(s) URL")
	}
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	if queue <= 0 {
		queue = DefaultWebhookQueue
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Webhook{url: rawURL, target: u.Scheme + "://" + u.Host, timeout: timeout, log: log,
		queue: make(chan []byte, queue), done: make(chan struct{}),
		client: &http.Client{
			// A webhook answers; it does not send the event elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	go w.deliver(ctx)
	return w, nil
}

// Send queues v, encoded as JSON, for delivery, or drops it when the queue
// is full.
func (w *Webhook) Send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.log.Error("anomaly: webhook event not encodable", "err", err)
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return
	}
	select {
	case w.queue <- b:
	default:
		if w.dropped.Add(1) == 1 {
			w.log.Warn("anomaly: the webhook's queue is full: dropping events", "target", w.target)
		}
	}
}

// Close stops taking events and delivers the queued ones, until ctx is
// done: the delivery loop delivers them, or, when its context is done
// already (the command was told to stop before the store closed), Close
// does.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The loop stopped: at the end of the closed queue, or with its
	// context, leaving the rest to deliver here.
	for b := range w.queue {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.deliverOne(ctx, b)
	}
	return nil
}

// Stats returns how many events were delivered, failed and dropped.
func (w *Webhook) Stats() (sent, failed, dropped int64) {
	return w.sent.Load(), w.failed.Load(), w.dropped.Load()
}

// deliver delivers the queued events until the queue is closed and empty
// or ctx is done. A delivery started is not cancelled with ctx (each is
// bounded by the timeout): what ctx stops is taking the next event, which
// Close delivers then.
func (w *Webhook) deliver(ctx context.Context) {
	defer close(w.done)
	for ctx.Err() == nil {
		select {
		case b, ok := <-w.queue:
			if !ok {
				return
			}
			w.deliverOne(context.WithoutCancel(ctx), b)
		case <-ctx.Done():
		}
	}
}

func (w *Webhook) deliverOne(ctx context.Context, b []byte) {
	if err := w.post(ctx, b); err != nil {
		w.failed.Add(1)
		w.log.Warn("anomaly: webhook delivery failed", "target", w.target, "err", err)
		return
	}
	w.sent.Add(1)
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ctxguard-anomaly")
	resp, err := w.client.Do(req)
	if err != nil {
		// A url.Error quotes the URL, and with it any secret it holds.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}
