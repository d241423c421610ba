package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// listener is an HTTP server's TLS settings and shutdown grace, shared by
// the commands that serve (proxy, review).
type listener struct {
	cert, key string
	// grace is how long requests under way get to finish at shutdown.
	grace time.Duration
	// beforeShutdown runs when ctx ends, before the server stops taking
	// requests (review cuts its websockets, which Shutdown does not wait
	// for).
	beforeShutdown func()
}

// serve serves hs on ln (HTTPS when a certificate is set) until ctx ends or
// the server fails, then shuts it down gracefully.
func (l listener) serve(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if l.cert != "" {
			errc <- hs.ServeTLS(ln, l.cert, l.key)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if l.beforeShutdown != nil {
		l.beforeShutdown()
	}
	sctx, cancel := context.WithTimeout(context.Background(), l.grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
