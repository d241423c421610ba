package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard/store"
)

// FileName is the database's name inside the data directory.
const FileName = "ctxguard.db"

// Options configure a DB.
type Options struct {
	// Durability of writes; Strict by default.
	Durability store.Durability
	// LockTimeout bounds the wait for bbolt's own file lock, which only a
	// foreign process (not ctxguard) could hold. Default 10s.
	LockTimeout time.Duration
	// Linger is how long the file stays open after a transaction when no
	// other process waits for it. Default 10ms.
	Linger time.Duration
	// CheckpointBytes is the size of the write-ahead log at which its
	// records move into bbolt. Default 1 MiB.
	CheckpointBytes int64
}

// DB is the bbolt store in one data directory. It is safe for concurrent
// use by goroutines and processes.
type DB struct {
	path string
	opts Options
	gate *gate

	// mu serializes transactions in this process and guards the fields
	// below. open and log are the bbolt handle and the write-ahead log
	// while this process holds the gate; pending are the log's records not
	// yet in bbolt, and lastSeq the sequence number of the newest record
	// in either.
	mu           sync.Mutex
	open         *bbolt.DB
	log          *wal
	pending      []pending
	lastSeq      uint64
	checkpointAt int64
	// moving is the checkpoint under way in the background, if any.
	moving   *move
	lastUsed time.Time
	idle     *time.Timer

	// qmu guards the commit queue; leading is set while a caller commits
	// it. active counts the appends under way, which Close waits for.
	qmu     sync.Mutex
	queue   []*commit
	leading bool
	closed  bool
	active  sync.WaitGroup

	// beforeClose run first in Close, newest first.
	beforeClose []func()
}

var (
	bucketRecords = []byte("records")
	bucketMeta    = []byte("meta")
)

// Open opens (creating if needed) the store in dir, which is created with
// owner-only permissions: provenance names what every client read.
func Open(dir string, opts Options) (*DB, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 10 * time.Second
	}
	if opts.Linger == 0 {
		opts.Linger = 10 * time.Millisecond
	}
	if opts.CheckpointBytes <= 0 {
		opts.CheckpointBytes = 1 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	g, err := openGate(filepath.Join(dir, FileName+".lock"))
	if err != nil {
		return nil, err
	}
	db := &DB{
		path: filepath.Join(dir, FileName),
		opts: opts,
		gate: g,
	}
	// Create the buckets now, so that a damaged or foreign file is
	// reported at start and not at the first write.
	err = db.update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketMeta, bucketManifests, bucketPins, bucketQueue, bucketByStatus, bucketChanges, bucketDecisions, bucketLog, bucketCheckpoints} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.mu.Lock()
		db.release()
		db.mu.Unlock()
		g.close()
		return nil, err
	}
	return db, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// BeforeClose registers fn to run at the start of Close, while the store is
// still usable: a background task that writes to it (signing the log's last
// checkpoint) stops there. Functions run newest first.
func (db *DB) BeforeClose(fn func()) {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	db.beforeClose = append(db.beforeClose, fn)
}

// Close waits for queued writes to commit and releases the store.
func (db *DB) Close() error {
	db.qmu.Lock()
	fns := db.beforeClose
	db.beforeClose = nil
	db.qmu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	db.qmu.Lock()
	already := db.closed
	db.closed = true
	db.qmu.Unlock()
	if !already {
		db.active.Wait()
		db.mu.Lock()
		db.release()
		db.mu.Unlock()
		db.gate.close()
	}
	return nil
}

// update runs fn in a write transaction.
func (db *DB) update(fn func(*bbolt.Tx) error) error {
	return db.with(func(b *bbolt.DB) error { return b.Update(fn) })
}

// view runs fn in a read transaction.
func (db *DB) view(fn func(*bbolt.Tx) error) error {
	return db.with(func(b *bbolt.DB) error { return b.View(fn) })
}

// with runs fn with the file open, opening it (and taking the gate) first
// if this process does not hold it.
func (db *DB) with(fn func(*bbolt.DB) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.open == nil {
		if err := db.acquire(); err != nil {
			return err
		}
	}
	err := fn(db.open)
	db.lastUsed = time.Now()
	if err != nil || db.gate.contended() {
		// After a failure, start again from the file; when another
		// process waits, let it in now.
		db.release()
		return err
	}
	if db.idle == nil {
		db.idle = time.AfterFunc(db.opts.Linger, db.releaseIfIdle)
	} else {
		db.idle.Reset(db.opts.Linger)
	}
	return nil
}

func (db *DB) acquire() error {
	if err := db.gate.lock(); err != nil {
		return err
	}
	// bbolt commits only at checkpoints, and always syncs them, in both
	// modes: relaxed differs in the log alone, so a power loss can cost
	// it the records still in the log but never the database file.
	b, err := bbolt.Open(db.path, 0o600, &bbolt.Options{Timeout: db.opts.LockTimeout})
	if err != nil {
		db.gate.unlock()
		return fmt.Errorf("store: open %s: %w", db.path, err)
	}
	log, recs, err := openWAL(db.path+WALSuffix, db.opts.Durability == store.Strict)
	if err != nil {
		b.Close()
		db.gate.unlock()
		return err
	}
	var seq uint64
	err = b.View(func(tx *bbolt.Tx) error {
		if bk := tx.Bucket(bucketRecords); bk != nil {
			seq = bk.Sequence()
		}
		return nil
	})
	if err != nil {
		log.close()
		b.Close()
		db.gate.unlock()
		return fmt.Errorf("store: open %s: %w", db.path, err)
	}
	// Records a crash left in the log: those bbolt has are skipped.
	db.open, db.log, db.lastSeq, db.pending = b, log, seq, nil
	for _, p := range recs {
		if p.seq > seq {
			db.pending = append(db.pending, p)
		}
		db.lastSeq = max(db.lastSeq, p.seq)
	}
	db.checkpointAt = db.opts.CheckpointBytes
	// Start the log again under a new salt, so that nothing a crash left
	// beyond its whole frames can be read later. With records to keep,
	// that waits for their checkpoint; on failure (a full disk) they stay
	// in the log, where reads find them, and the next checkpoint tries
	// again.
	if len(db.pending) > 0 {
		_ = db.checkpoint()
	} else {
		_ = log.reset(db.keepBytes()) // on failure, appends retry it
	}
	return nil
}

// keepBytes is the log file size a checkpoint keeps for reuse.
func (db *DB) keepBytes() int64 { return 4 * max(db.opts.CheckpointBytes, walChunk) }

// checkpoint moves the log's records into bbolt in one transaction and,
// once that is on disk, starts the log again. It waits for a move under
// way first. db.mu is held.
func (db *DB) checkpoint() error {
	db.awaitMove()
	if len(db.pending) > 0 {
		if err := moveRecords(db.open, db.pending); err != nil {
			db.checkpointAt = db.log.size + db.opts.CheckpointBytes
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		db.pending = nil
	}
	db.checkpointAt = db.opts.CheckpointBytes
	return db.log.reset(db.keepBytes())
}

// moveRecords stores recs in bbolt and adds them to the tree, in one
// transaction: two ordered fdatasyncs and, with a megabyte of records,
// tens of milliseconds.
func moveRecords(b *bbolt.DB, recs []pending) error {
	return b.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketRecords)
		if err != nil {
			return err
		}
		bk.FillPercent = 1 // keys only ever grow: full pages
		for _, p := range recs {
			if err := bk.Put(seqKey(p.seq), p.value); err != nil {
				return err
			}
		}
		if err := bk.SetSequence(max(bk.Sequence(), recs[len(recs)-1].seq)); err != nil {
			return err
		}
		return extendLog(tx)
	})
}

// A move is a checkpoint's transaction running in the background, so that
// the append that fills the log does not wait for it: appends go on into
// the log meanwhile, and reads find the records in the log until the move
// has committed them (a record in both places is read once: readers go by
// sequence number). When the move is done, the records appended during it
// follow in a small transaction, and the log starts again.
type move struct {
	recs []pending // a prefix of db.pending, which appends do not touch
	done chan struct{}
	err  error
}

// beforeMove runs as a background move starts, afterMove once its
// transaction has committed (the moved records are then in both bbolt and
// the pending ones): tests hold moves there.
var beforeMove, afterMove = func() {}, func() {}

// startMove begins a background checkpoint of the pending records. db.mu
// is held.
func (db *DB) startMove() {
	m := &move{recs: db.pending, done: make(chan struct{})}
	db.moving = m
	b, before, after := db.open, beforeMove, afterMove
	go func() {
		before()
		m.err = moveRecords(b, m.recs)
		close(m.done)
		after()
		db.mu.Lock()
		defer db.mu.Unlock()
		if db.moving != m {
			return // whoever waited for it has finished it
		}
		if db.finishMove(m) != nil {
			return
		}
		// The records the log took meanwhile: a few follow at once, and
		// the log starts again; more than that move in the background
		// too, and the appends go on.
		if pendingBytes(db.pending) <= tailBytes {
			_ = db.checkpoint()
		} else {
			db.startMove()
		}
	}()
}

// tailBytes bounds the records a finished move's follow-up moves while
// appends wait: its transaction then costs its two fdatasyncs and little
// more.
const tailBytes = 64 << 10

func pendingBytes(recs []pending) int {
	n := 0
	for _, p := range recs {
		n += len(p.value)
	}
	return n
}

// awaitMove waits for the move under way, if any, and finishes it. db.mu is
// held; the move's transaction does not take it.
func (db *DB) awaitMove() {
	if m := db.moving; m != nil {
		<-m.done
		_ = db.finishMove(m)
	}
}

// finishMove drops the moved records from the pending ones, or, when the
// move failed (a full disk), leaves them in the log, where reads find them,
// for the next checkpoint. db.mu is held.
func (db *DB) finishMove(m *move) error {
	db.moving = nil
	if m.err != nil {
		db.checkpointAt = db.log.size + db.opts.CheckpointBytes
		return m.err
	}
	// The moved records are still pending's first ones: whatever else
	// takes records out of pending (checkpoint) waits for the move first.
	db.pending = slices.Clone(db.pending[len(m.recs):])
	return nil
}

// release checkpoints, closes the files and lets go of the gate. db.mu is
// held.
func (db *DB) release() {
	if db.open == nil {
		return
	}
	if !db.log.empty() {
		_ = db.checkpoint() // on failure the next holder finds the log
	}
	_ = db.log.close()
	_ = db.open.Close()
	db.open, db.log, db.pending = nil, nil, nil
	db.gate.unlock()
}

func (db *DB) releaseIfIdle() {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.open != nil && time.Since(db.lastUsed) >= db.opts.Linger {
		db.release()
	} else if db.open != nil {
		db.idle.Reset(db.opts.Linger - time.Since(db.lastUsed))
	}
}

var _ store.Records = (*DB)(nil)

// ctxErr returns the context's error, or nil.
func ctxErr(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}
