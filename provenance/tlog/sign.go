package tlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard/store"
)

// SignHead signs a checkpoint of the log's current head and keeps it in the
// store, unless one of that size is kept already (then it returns that
// one). A log without records has no checkpoint: ok is false.
func SignHead(ctx context.Context, log store.Log, key *Key, now time.Time) (c Checkpoint, signed []byte, ok bool, err error) {
	st, err := log.LogState(ctx)
	if err != nil || st.Size == 0 {
		return Checkpoint{}, nil, false, err
	}
	if c, signed, ok, err := storedAt(ctx, log, key, st.Size); err != nil || ok {
		return c, signed, ok, err
	}
	root, err := tlog.TreeHash(int64(st.Size), log)
	if err != nil {
		return Checkpoint{}, nil, false, fmt.Errorf("tlog: the tree's root: %w", err)
	}
	return signAt(ctx, log, key, st.Size, root, now)
}

func signAt(ctx context.Context, log store.Log, key *Key, size uint64, root tlog.Hash, now time.Time) (Checkpoint, []byte, bool, error) {
	c := Checkpoint{Origin: key.Signer.Name(), Size: size, Root: root, Time: now}
	signed, err := c.Sign(key.Signer)
	if err != nil {
		return Checkpoint{}, nil, false, err
	}
	if err := log.PutCheckpoint(ctx, size, signed); err != nil {
		return Checkpoint{}, nil, false, err
	}
	// Another process may have signed the same head first: what the
	// store keeps is the checkpoint.
	return storedAt(ctx, log, key, size)
}

// storedAt returns the kept checkpoint of size, if there is one.
func storedAt(ctx context.Context, log store.Log, key *Key, size uint64) (c Checkpoint, signed []byte, ok bool, err error) {
	signed, err = log.Checkpoint(ctx, size)
	if err != nil || signed == nil {
		return Checkpoint{}, nil, false, err
	}
	c, err = Open(signed, key.Verifier)
	return c, signed, err == nil, err
}

// Checkpointer signs the log's head at an interval while a filter runs, and
// once more when it stops, so that every record it stored is covered.
type Checkpointer struct {
	Log      store.Log
	Key      *Key
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Run signs until ctx is done.
func (c *Checkpointer) Run(ctx context.Context) {
	if c.Now == nil {
		c.Now = time.Now
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last records of this process: signed on the way out,
			// with a bounded wait of its own.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.sign(fctx)
			cancel()
			return
		case <-t.C:
			c.sign(ctx)
		}
	}
}

func (c *Checkpointer) sign(ctx context.Context) {
	if _, _, _, err := SignHead(ctx, c.Log, c.Key, c.Now()); err != nil && ctx.Err() == nil && c.Logger != nil {
		c.Logger.Warn("audit: cannot sign a checkpoint of the provenance log", "err", err)
	}
}
