package search

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/blevesearch/bleve/v2"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// A batch is committed when it holds this many changes or this many bytes
// of documents, whichever comes first: bigger batches make fewer segments
// to merge, and the byte bound keeps memory flat when items are large.
// bleve returns from a batch once it is on disk (a few milliseconds), so
// a cursor it holds is never ahead of its documents.
const (
	batchChanges = 1000
	batchBytes   = 32 << 20
)

// errStale says the store's change log does not go on from the index's
// cursor: the store was replaced or restored from a backup.
var errStale = errors.New("search: the index is ahead of the store")

// Sync brings the index up to date with the store: it applies every change
// after the cursor stored in the index, in batches, each of which moves the
// cursor with it. When the store's change log no longer holds the change at
// the index's cursor (the store was replaced or restored), the index is
// emptied and rebuilt from the start of the log. Sync returns how many
// changes it applied; on error, the ones applied so far stay applied.
func (x *Index) Sync(ctx context.Context, q store.Quarantine) (int, error) {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	c, err := x.cursor()
	if err != nil {
		return 0, err
	}
	n, err := x.apply(ctx, q, c)
	if errors.Is(err, errStale) {
		if err := x.reset(); err != nil {
			return 0, err
		}
		n, err = x.apply(ctx, q, cursor{})
	}
	return n, err
}

// cursor is the last change the index holds: its sequence number in the
// store's change log and the item it changed. The item id tells a store
// that was replaced by one with as long a log from the store the index
// was built from.
type cursor struct {
	seq uint64
	id  string
}

// cursor, apply and reset run under syncMu, which keeps x.idx from
// changing under them.
func (x *Index) cursor() (cursor, error) {
	if x.idx == nil {
		return cursor{}, fmt.Errorf("search: sync: %w", bleve.ErrorIndexClosed)
	}
	v, err := x.idx.GetInternal(keyCursor)
	if err != nil {
		return cursor{}, fmt.Errorf("search: read cursor: %w", err)
	}
	if len(v) < 8 {
		return cursor{}, nil
	}
	return cursor{binary.BigEndian.Uint64(v), string(v[8:])}, nil
}

// apply indexes the changes after c. It asks the store for the change at c
// too, to check that the log still holds it.
func (x *Index) apply(ctx context.Context, q store.Quarantine, c cursor) (int, error) {
	after, found := uint64(0), true
	if c.seq > 0 {
		after, found = c.seq-1, false
	}
	n, pending := 0, 0
	var b *bleve.Batch
	flush := func() error {
		if pending == 0 {
			return nil
		}
		b.SetInternal(keyCursor, append(binary.BigEndian.AppendUint64(nil, c.seq), c.id...))
		if err := x.idx.Batch(b); err != nil {
			return err
		}
		n += pending
		pending = 0
		b.Reset()
		return nil
	}
	_, err := q.Changes(ctx, after, func(seq uint64, it *ctxguard.QuarantineItem) error {
		if !found {
			if seq != c.seq || it.ID != c.id {
				return errStale
			}
			found = true
			return nil
		}
		if b == nil {
			b = x.idx.NewBatch()
		}
		if err := b.Index(it.ID, document(it)); err != nil {
			return fmt.Errorf("search: index item %s: %w", it.ID, err)
		}
		c, pending = cursor{seq, it.ID}, pending+1
		if pending >= batchChanges || b.TotalDocsSize() >= batchBytes {
			return flush()
		}
		return nil
	})
	if err == nil && !found {
		err = errStale // the log ends before the index's cursor
	}
	if errors.Is(err, errStale) {
		return n, err
	}
	// The changes read before a failure (a cancelled context, a store
	// error) are good: keep them.
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return n, fmt.Errorf("search: sync: %w", err)
	}
	return n, nil
}

// reset replaces the index with an empty one.
func (x *Index) reset() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	err := x.idx.Close()
	x.idx = nil
	if err != nil {
		return fmt.Errorf("search: rebuild: %w", err)
	}
	x.idx, err = create(x.dir)
	return err
}
