package bolt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

var (
	bucketQueue     = []byte("quarantine") // id → item (JSON)
	bucketByStatus  = []byte("qstatus")    // status \x00 id → nothing
	bucketChanges   = []byte("qchanges")   // cursor → id
	bucketDecisions = []byte("qdecisions") // "r" \x00 sha → id; "a" \x00 sha \x00 uri → id ("" uri: global)
)

// Hold implements store.Quarantine.
func (db *DB) Hold(ctx context.Context, items []*ctxguard.QuarantineItem) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	for _, it := range items {
		if it.CreatedAt.IsZero() {
			it.CreatedAt = time.Now().UTC()
		}
		if it.ID == "" {
			var r [10]byte
			_, _ = rand.Read(r[:])
			it.ID = ctxguard.NewQuarantineID(it.CreatedAt, r)
		}
		if it.Status == "" {
			it.Status = ctxguard.StatusPending
		}
	}
	return db.update(func(tx *bbolt.Tx) error {
		for _, it := range items {
			if tx.Bucket(bucketQueue).Get([]byte(it.ID)) != nil {
				return fmt.Errorf("store: quarantine id %s exists", it.ID)
			}
			if err := putItem(tx, it, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// putItem stores it, moves its status index entry from old, and logs the
// change.
func putItem(tx *bbolt.Tx, it *ctxguard.QuarantineItem, old ctxguard.QuarantineStatus) error {
	v, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("store: encode item: %w", err)
	}
	if err := tx.Bucket(bucketQueue).Put([]byte(it.ID), v); err != nil {
		return err
	}
	bs := tx.Bucket(bucketByStatus)
	if old != "" {
		if err := bs.Delete(statusKey(old, it.ID)); err != nil {
			return err
		}
	}
	if err := bs.Put(statusKey(it.Status, it.ID), nil); err != nil {
		return err
	}
	ch := tx.Bucket(bucketChanges)
	n, err := ch.NextSequence()
	if err != nil {
		return err
	}
	return ch.Put(seqKey(n), []byte(it.ID))
}

func statusKey(s ctxguard.QuarantineStatus, id string) []byte {
	return []byte(string(s) + "\x00" + id)
}

func getItem(tx *bbolt.Tx, id string) (*ctxguard.QuarantineItem, error) {
	v := tx.Bucket(bucketQueue).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, id)
	}
	it := &ctxguard.QuarantineItem{}
	if err := json.Unmarshal(v, it); err != nil {
		return nil, fmt.Errorf("store: item %s: %w", id, err)
	}
	return it, nil
}

// Item implements store.Quarantine.
func (db *DB) Item(ctx context.Context, id string) (*ctxguard.QuarantineItem, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var it *ctxguard.QuarantineItem
	err := db.view(func(tx *bbolt.Tx) (err error) {
		it, err = getItem(tx, id)
		return err
	})
	return it, err
}

// itemsChunk bounds how many items one read transaction decodes, so that a
// listing of any length holds the file briefly.
const itemsChunk = 256

// Items implements store.Quarantine.
func (db *DB) Items(ctx context.Context, q store.ItemQuery, fn func(*ctxguard.QuarantineItem) error) error {
	before, n := q.Before, 0
	for {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		var chunk []*ctxguard.QuarantineItem
		done := false
		want := itemsChunk
		if q.Limit > 0 {
			want = min(want, q.Limit-n)
		}
		err := db.view(func(tx *bbolt.Tx) error {
			next := newestBefore(tx, q.Status, before)
			for len(chunk) < want {
				id := next()
				if id == "" {
					done = true
					return nil
				}
				before = id
				it, err := getItem(tx, id)
				if err != nil {
					return err
				}
				if q.Server != "" && it.Server != q.Server {
					continue
				}
				chunk = append(chunk, it)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range chunk {
			if q.Limit > 0 && n >= q.Limit {
				return nil
			}
			if err := fn(it); err != nil {
				return err
			}
			n++
		}
		if done || (q.Limit > 0 && n >= q.Limit) {
			return nil
		}
	}
}

// newestBefore returns an iterator over ids smaller than before ("" for
// none), newest first, of one status or of all.
func newestBefore(tx *bbolt.Tx, status ctxguard.QuarantineStatus, before string) func() string {
	var c *bbolt.Cursor
	var prefix, limit []byte
	if status == "" {
		c, limit = tx.Bucket(bucketQueue).Cursor(), []byte(before)
	} else {
		c, prefix = tx.Bucket(bucketByStatus).Cursor(), []byte(string(status)+"\x00")
		limit = append(bytes.Clone(prefix), before...)
		if before == "" {
			limit = []byte(string(status) + "\x01") // past every key of the status
		}
	}
	var k []byte
	started := false
	return func() string {
		switch {
		case started:
			k, _ = c.Prev()
		case len(limit) == 0:
			k, _ = c.Last()
		default:
			// The greatest key below limit: Seek finds the first at or
			// above it.
			if k, _ = c.Seek(limit); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		started = true
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return ""
		}
		return string(k[len(prefix):])
	}
}

// Review implements store.Quarantine.
func (db *DB) Review(ctx context.Context, id string, a ctxguard.ReviewAction) (*ctxguard.QuarantineItem, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var status ctxguard.QuarantineStatus
	switch a.Action {
	case "release":
		status = ctxguard.StatusReleased
		if a.Scope == "" {
			a.Scope = "uri"
		}
		if a.Scope != "uri" && a.Scope != "global" {
			return nil, fmt.Errorf("%w: scope %q (uri or global)", store.ErrBadAction, a.Scope)
		}
	case "reject":
		status, a.Scope = ctxguard.StatusRejected, "global"
	default:
		return nil, fmt.Errorf("%w: %q", store.ErrBadAction, a.Action)
	}
	if a.At.IsZero() {
		a.At = time.Now().UTC()
	}
	var it *ctxguard.QuarantineItem
	err := db.update(func(tx *bbolt.Tx) error {
		var err error
		if it, err = getItem(tx, id); err != nil {
			return err
		}
		old := it.Status
		it.Status = status
		it.History = append(it.History, a)
		if err := putItem(tx, it, old); err != nil {
			return err
		}
		return decide(tx.Bucket(bucketDecisions), it, a)
	})
	return it, err
}

// decide records the decision on the item's content, replacing the
// opposite one.
func decide(b *bbolt.Bucket, it *ctxguard.QuarantineItem, a ctxguard.ReviewAction) error {
	rejected := []byte("r\x00" + it.SHA256)
	released := []byte("a\x00" + it.SHA256 + "\x00")
	if a.Action == "reject" {
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(released); k != nil && bytes.HasPrefix(k, released); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put(rejected, []byte(it.ID))
	}
	if err := b.Delete(rejected); err != nil {
		return err
	}
	uri := ""
	if a.Scope == "uri" {
		uri = it.URI
	}
	return b.Put(append(released, uri...), []byte(it.ID))
}

// ContentDecision implements store.Quarantine.
func (db *DB) ContentDecision(ctx context.Context, sha256, uri string) (ctxguard.QuarantineStatus, string, error) {
	if err := ctxErr(ctx); err != nil {
		return "", "", err
	}
	var status ctxguard.QuarantineStatus
	var id string
	err := db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketDecisions)
		if v := b.Get([]byte("r\x00" + sha256)); v != nil {
			status, id = ctxguard.StatusRejected, string(v)
			return nil
		}
		for _, u := range []string{uri, ""} {
			if v := b.Get([]byte("a\x00" + sha256 + "\x00" + u)); v != nil {
				status, id = ctxguard.StatusReleased, string(v)
				return nil
			}
		}
		return nil
	})
	return status, id, err
}

// RejectedContent implements store.Quarantine.
func (db *DB) RejectedContent(ctx context.Context) (map[string]string, uint64, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, 0, err
	}
	out := map[string]string{}
	var cursor uint64
	err := db.view(func(tx *bbolt.Tx) error {
		cursor = tx.Bucket(bucketChanges).Sequence()
		c := tx.Bucket(bucketDecisions).Cursor()
		prefix := []byte("r\x00")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out[string(k[len(prefix):])] = string(v)
		}
		return nil
	})
	return out, cursor, err
}

// Count implements store.Quarantine.
func (db *DB) Count(ctx context.Context, status ctxguard.QuarantineStatus) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := db.view(func(tx *bbolt.Tx) error {
		if status == "" {
			n = tx.Bucket(bucketQueue).Stats().KeyN
			return nil
		}
		prefix := []byte(string(status) + "\x00")
		c := tx.Bucket(bucketByStatus).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// Changes implements store.Quarantine.
func (db *DB) Changes(ctx context.Context, after uint64, fn func(uint64, *ctxguard.QuarantineItem) error) (uint64, error) {
	last := after
	for {
		if err := ctxErr(ctx); err != nil {
			return last, err
		}
		type change struct {
			cursor uint64
			it     *ctxguard.QuarantineItem
		}
		var chunk []change
		err := db.view(func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketChanges).Cursor()
			for k, v := c.Seek(seqKey(last + 1)); k != nil && len(chunk) < itemsChunk; k, v = c.Next() {
				it, err := getItem(tx, string(v))
				if err != nil {
					return err
				}
				chunk = append(chunk, change{binary.BigEndian.Uint64(k), it})
			}
			return nil
		})
		if err != nil {
			return last, err
		}
		for _, ch := range chunk {
			if err := fn(ch.cursor, ch.it); err != nil {
				return last, err
			}
			last = ch.cursor
		}
		if len(chunk) < itemsChunk {
			return last, nil
		}
	}
}

var _ store.Quarantine = (*DB)(nil)
