package llm

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retrier is the HTTP client go-openai sends through: it retries a request
// that met a 429 or a 5xx (or no response at all) with exponential backoff
// and full jitter, waiting what Retry-After asks instead when the endpoint
// says. It never waits past the request's deadline: when the wait would
// end after it, the last answer is returned at once.
type retrier struct {
	client  *http.Client
	retries int
	// base is the first backoff; each retry doubles it, up to maxBackoff.
	base, maxBackoff time.Duration
	// maxRetryAfter bounds the Retry-After that is honoured; a longer one
	// is not waited for.
	maxRetryAfter time.Duration
	stats         *Stats
	now           func() time.Time
}

func (r *retrier) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if req.GetBody == nil {
				return nil, errNoRewind
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		r.stats.calls.Add(1)
		resp, err := r.client.Do(req)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		wait, again := r.backoff(resp, err, attempt)
		if !again || attempt >= r.retries {
			return resp, err
		}
		if dl, ok := ctx.Deadline(); ok && r.now().Add(wait).After(dl) {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		r.stats.retries.Add(1)
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff says whether an answer is worth another try, and after how long.
func (r *retrier) backoff(resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err == nil {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout,
			resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusHTTPVersionNotSupported:
		default:
			return 0, false
		}
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), r.now()); ok {
			if d > r.maxRetryAfter {
				return 0, false
			}
			return d, true
		}
	}
	// No answer (a reset connection, a refused one), or no Retry-After.
	d := r.base << attempt
	if d > r.maxBackoff || d <= 0 {
		d = r.maxBackoff
	}
	return d/2 + rand.N(d/2+1), true
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

var errNoRewind = errors.New("the request cannot be sent again")

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
