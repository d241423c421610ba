package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard/store"
)

// The tree over the records lives next to them: bucket "tlog" holds its
// stored hashes keyed by their tlog storage index (big-endian), so that
// leaf n is record n+1's tlog.RecordHash and every interior hash a proof
// needs is one Get away. It grows in the same transaction that moves
// records from the write-ahead log into bbolt, so the two never disagree
// after a crash. Bucket "checkpoints" holds the signed checkpoints by tree
// size.

var (
	bucketLog         = []byte("tlog")
	bucketCheckpoints = []byte("checkpoints")

	// metaLogSize is the number of leaves in the tree; metaPruned the Seq
	// through which retention removed records.
	metaLogSize        = []byte("tlog_size")
	metaPruned         = []byte("pruned_through")
	metaPruneStatement = []byte("prune_statement")
)

func getUint(b *bbolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bbolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// txHashes reads stored hashes inside a transaction, including those the
// transaction wrote.
type txHashes struct{ b *bbolt.Bucket }

func (r txHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v := r.b.Get(seqKey(uint64(x)))
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("store: tree hash %d is missing", x)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

// extendLog adds the records after the tree's size, through the records
// bucket's sequence, to the tree. It runs in the transaction that stores
// them, so it reads them back from the bucket; a store from before the
// tree gets its older records added the same way, in order.
func extendLog(tx *bbolt.Tx) error {
	meta, rb := tx.Bucket(bucketMeta), tx.Bucket(bucketRecords)
	size, last := getUint(meta, metaLogSize), rb.Sequence()
	if size >= last {
		return nil
	}
	lb, err := tx.CreateBucketIfNotExists(bucketLog)
	if err != nil {
		return err
	}
	lb.FillPercent = 1 // keys only ever grow
	for ; size < last; size++ {
		// A record missing here was never stored (it cannot have been
		// pruned before it joined the tree): its leaf is the empty one.
		hashes, err := tlog.StoredHashes(int64(size), rb.Get(seqKey(size+1)), txHashes{lb})
		if err != nil {
			return err
		}
		at := uint64(tlog.StoredHashIndex(0, int64(size)))
		for i, h := range hashes {
			if err := lb.Put(seqKey(at+uint64(i)), h[:]); err != nil {
				return err
			}
		}
	}
	return putUint(meta, metaLogSize, size)
}

// ReadHashes implements tlog.HashReader over the tree as last checkpointed.
func (db *DB) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	err := db.view(func(tx *bbolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		if lb == nil {
			return errors.New("store: the records have no tree yet")
		}
		var err error
		out, err = txHashes{lb}.ReadHashes(indexes)
		return err
	})
	return out, err
}

// LogState implements store.Log.
func (db *DB) LogState(ctx context.Context) (store.LogState, error) {
	var st store.LogState
	err := db.with(func(b *bbolt.DB) error {
		if len(db.pending) > 0 {
			if err := db.checkpoint(); err != nil {
				return err
			}
		}
		var behind bool
		read := func(tx *bbolt.Tx) error {
			meta, rb := tx.Bucket(bucketMeta), tx.Bucket(bucketRecords)
			st.Size = getUint(meta, metaLogSize)
			st.Pruned = getUint(meta, metaPruned)
			st.PruneStatement = append([]byte(nil), meta.Get(metaPruneStatement)...)
			st.Records = 0
			if k, _ := rb.Cursor().Last(); k != nil {
				st.Records = binary.BigEndian.Uint64(k)
			}
			behind = st.Size < rb.Sequence()
			return nil
		}
		if err := b.View(read); err != nil || !behind {
			return err
		}
		// Records stored before the tree existed join it now.
		return b.Update(func(tx *bbolt.Tx) error {
			if err := extendLog(tx); err != nil {
				return err
			}
			return read(tx)
		})
	})
	return st, err
}

// leafChunk bounds the records one read transaction of ScanLeaves copies.
const leafChunk = 1024

// ScanLeaves implements store.Log.
func (db *DB) ScanLeaves(ctx context.Context, after uint64, fn func(seq uint64, value []byte, logged tlog.Hash) error) error {
	type leaf struct {
		seq    uint64
		n      int // the value's length in buf
		logged tlog.Hash
	}
	chunk := make([]leaf, 0, leafChunk)
	var buf []byte // one allocation per chunk for the values
	for {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		chunk, buf = chunk[:0], buf[:0]
		err := db.view(func(tx *bbolt.Tx) error {
			lb := tx.Bucket(bucketLog)
			c := tx.Bucket(bucketRecords).Cursor()
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(chunk) < leafChunk; k, v = c.Next() {
				l := leaf{seq: binary.BigEndian.Uint64(k), n: len(v)}
				buf = append(buf, v...)
				if lb != nil && l.seq > 0 {
					copy(l.logged[:], lb.Get(seqKey(uint64(tlog.StoredHashIndex(0, int64(l.seq-1))))))
				}
				chunk = append(chunk, l)
			}
			return nil
		})
		if err != nil {
			return err
		}
		off := 0
		for _, l := range chunk {
			if err := fn(l.seq, buf[off:off+l.n:off+l.n], l.logged); err != nil {
				return err
			}
			off += l.n
			after = l.seq
		}
		if len(chunk) < leafChunk {
			return nil
		}
	}
}

// PutCheckpoint implements store.Log.
func (db *DB) PutCheckpoint(ctx context.Context, size uint64, signed []byte) error {
	return db.update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCheckpoints)
		if err != nil {
			return err
		}
		if b.Get(seqKey(size)) != nil {
			return nil
		}
		return b.Put(seqKey(size), signed)
	})
}

// Checkpoints implements store.Log.
func (db *DB) Checkpoints(ctx context.Context, fn func(size uint64, signed []byte) error) error {
	type cp struct {
		size   uint64
		signed []byte
	}
	var all []cp // checkpoints are few: one per interval, kept small
	err := db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCheckpoints)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("store: damaged checkpoint key %x", k)
			}
			all = append(all, cp{binary.BigEndian.Uint64(k), append([]byte(nil), v...)})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, c := range all {
		if err := fn(c.size, c.signed); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint implements store.Log.
func (db *DB) Checkpoint(ctx context.Context, size uint64) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketCheckpoints); b != nil {
			if v := b.Get(seqKey(size)); v != nil {
				out = append([]byte(nil), v...)
			}
		}
		return nil
	})
	return out, err
}

// DeleteCheckpoints implements store.Log.
func (db *DB) DeleteCheckpoints(ctx context.Context, sizes []uint64) error {
	return db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCheckpoints)
		if b == nil {
			return nil
		}
		anchor := getUint(tx.Bucket(bucketMeta), metaPruned)
		for _, s := range sizes {
			if s == anchor && anchor > 0 {
				continue // it anchors the pruned records, whoever asks
			}
			if err := b.Delete(seqKey(s)); err != nil {
				return err
			}
		}
		return nil
	})
}

// pruneBatch bounds the records one pruning transaction removes.
const pruneBatch = 10000

// PruneRecords implements store.Log.
func (db *DB) PruneRecords(ctx context.Context, through uint64, statement []byte) error {
	if _, err := db.LogState(ctx); err != nil { // the tree covers what goes
		return err
	}
	err := db.update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if through > getUint(meta, metaLogSize) {
			return fmt.Errorf("store: cannot prune through record %d: the tree has %d leaves", through, getUint(meta, metaLogSize))
		}
		if done := getUint(meta, metaPruned); through <= done {
			through = done // finish what a crash interrupted
			return nil
		}
		// The checkpoints inside the pruned part go too: the one at the
		// boundary anchors them, and checkpoints kept elsewhere are
		// proven against it.
		if cb := tx.Bucket(bucketCheckpoints); cb != nil {
			var old [][]byte
			c := cb.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < through; k, _ = c.Next() {
				old = append(old, append([]byte(nil), k...))
			}
			for _, k := range old {
				if err := cb.Delete(k); err != nil {
					return err
				}
			}
		}
		// The mark first: a crash part way leaves records that readers of
		// the log already treat as gone, and the next call removes them.
		if err := meta.Put(metaPruneStatement, statement); err != nil {
			return err
		}
		return putUint(meta, metaPruned, through)
	})
	if err != nil {
		return err
	}
	for {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		done := false
		err := db.update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketRecords)
			var keys [][]byte // a cursor's Next after Delete may skip a key
			c := b.Cursor()
			k, _ := c.First()
			for ; k != nil && len(keys) < pruneBatch && binary.BigEndian.Uint64(k) <= through; k, _ = c.Next() {
				keys = append(keys, append([]byte(nil), k...))
			}
			done = k == nil || binary.BigEndian.Uint64(k) > through
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

var _ store.Log = (*DB)(nil)
