package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard/store"
)

// bucketAnomaly holds the anomaly detector's snapshot: its entries by key,
// and under cursorKey the records cursor (8 bytes, big endian) the
// snapshot is current to. Entries whose key starts with a NUL byte are
// not stored: that space is the store's own.
var (
	bucketAnomaly = []byte("anomaly")
	cursorKey     = []byte("\x00cursor")
)

// Closed reports whether Close was called, so that a background task
// (the anomaly detector's sync) can stop with the store.
func (db *DB) Closed() bool {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	return db.closed
}

// closedErr returns store.ErrClosed after Close.
func (db *DB) closedErr() error {
	if db.Closed() {
		return store.ErrClosed
	}
	return nil
}

// LoadAnomalyState implements store.AnomalyState.
func (db *DB) LoadAnomalyState(ctx context.Context, fn func(key string, value []byte) error) (uint64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if err := db.closedErr(); err != nil {
		return 0, err
	}
	type kv struct {
		k string
		v []byte
	}
	var (
		all    []kv
		cursor uint64
	)
	err := db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAnomaly)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if bytes.Equal(k, cursorKey) {
				if len(v) == 8 {
					cursor = binary.BigEndian.Uint64(v)
				}
				return nil
			}
			if len(k) > 0 && k[0] == 0 {
				return nil
			}
			all = append(all, kv{string(k), bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	// fn runs with no transaction open.
	for _, e := range all {
		if err := ctxErr(ctx); err != nil {
			return 0, err
		}
		if err := fn(e.k, e.v); err != nil {
			return 0, err
		}
	}
	return cursor, nil
}

// SaveAnomalyState implements store.AnomalyState.
func (db *DB) SaveAnomalyState(ctx context.Context, cursor uint64, entries map[string][]byte) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := db.closedErr(); err != nil {
		return false, err
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		if k == "" || k[0] == 0 {
			continue // the store's own key space
		}
		keys = append(keys, k)
	}
	slices.Sort(keys) // sequential puts keep bbolt's pages full
	saved := false
	err := db.update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAnomaly)
		if err != nil {
			return err
		}
		if v := b.Get(cursorKey); len(v) == 8 && binary.BigEndian.Uint64(v) > cursor {
			return nil // another process saved a later snapshot
		}
		for _, k := range keys {
			if v := entries[k]; v == nil {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), v)
			}
			if err != nil {
				return err
			}
		}
		saved = true
		return b.Put(cursorKey, binary.BigEndian.AppendUint64(nil, cursor))
	})
	return saved, err
}

var _ store.AnomalyState = (*DB)(nil)
