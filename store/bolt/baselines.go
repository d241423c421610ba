package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard/store"
)

var (
	bucketManifests = []byte("manifests") // name → seq (8 bytes, big endian) + digest (32)
	bucketPins      = []byte("pins")      // server \x00 kind \x00 name → definition
)

// AcceptManifest implements store.Baselines.
func (db *DB) AcceptManifest(ctx context.Context, name string, seq uint64, digest [32]byte) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return db.update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketManifests)
		if err != nil {
			return err
		}
		if old := b.Get([]byte(name)); len(old) == 40 {
			oldSeq := binary.BigEndian.Uint64(old)
			switch {
			case seq < oldSeq:
				return fmt.Errorf("%w: %s sequence %d < %d", store.ErrRollback, name, seq, oldSeq)
			case seq == oldSeq && !bytes.Equal(old[8:], digest[:]):
				return fmt.Errorf("%w: %s sequence %d", store.ErrSequenceReused, name, seq)
			case seq == oldSeq:
				return nil
			}
		}
		v := append(seqKey(seq), digest[:]...)
		return b.Put([]byte(name), v)
	})
}

// AcceptedManifest implements store.Baselines.
func (db *DB) AcceptedManifest(ctx context.Context, name string) (seq uint64, digest [32]byte, ok bool, err error) {
	if err := ctxErr(ctx); err != nil {
		return 0, digest, false, err
	}
	err = db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketManifests)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(name)); len(v) == 40 {
			seq, ok = binary.BigEndian.Uint64(v), true
			copy(digest[:], v[8:])
		}
		return nil
	})
	return seq, digest, ok, err
}

func pinKey(p store.PinKey) []byte {
	return []byte(p.Server + "\x00" + p.Kind + "\x00" + p.Name)
}

// Pin implements store.Baselines.
func (db *DB) Pin(ctx context.Context, p store.PinKey, def []byte) (pinned []byte, first bool, err error) {
	if err := ctxErr(ctx); err != nil {
		return nil, false, err
	}
	// Most calls find the pin: look first without a write transaction.
	err = db.view(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketPins); b != nil {
			if v := b.Get(pinKey(p)); v != nil {
				pinned = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil || pinned != nil {
		return pinned, false, err
	}
	err = db.update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPins)
		if err != nil {
			return err
		}
		if v := b.Get(pinKey(p)); v != nil { // another process was first
			pinned = bytes.Clone(v)
			return nil
		}
		pinned, first = bytes.Clone(def), true
		return b.Put(pinKey(p), def)
	})
	return pinned, first, err
}

// Pins implements store.Baselines.
func (db *DB) Pins(ctx context.Context, server string, fn func(store.PinKey, []byte) error) error {
	type kv struct {
		k store.PinKey
		v []byte
	}
	var all []kv
	err := db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPins)
		if b == nil {
			return nil
		}
		prefix := []byte(nil)
		if server != "" {
			prefix = []byte(server + "\x00")
		}
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			parts := bytes.SplitN(k, []byte{0}, 3)
			if len(parts) != 3 {
				continue
			}
			all = append(all, kv{store.PinKey{Server: string(parts[0]), Kind: string(parts[1]), Name: string(parts[2])}, bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// fn runs with no transaction open.
	for _, e := range all {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// Unpin implements store.Baselines.
func (db *DB) Unpin(ctx context.Context, p store.PinKey) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPins)
		if b == nil {
			return nil
		}
		if p.Name != "" {
			if b.Get(pinKey(p)) != nil {
				n = 1
				return b.Delete(pinKey(p))
			}
			return nil
		}
		prefix := []byte(p.Server + "\x00")
		if p.Kind != "" {
			prefix = []byte(p.Server + "\x00" + p.Kind + "\x00")
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}

var _ store.Baselines = (*DB)(nil)
