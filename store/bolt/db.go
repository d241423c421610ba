package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
}

// DB is the bbolt store in one data directory. It is safe for concurrent
// use by goroutines and processes.
type DB struct {
	path string
	opts Options
	gate *gate

	commits   chan *commit
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	g, err := openGate(filepath.Join(dir, FileName+".lock"))
	if err != nil {
		return nil, err
	}
	db := &DB{
		path:    filepath.Join(dir, FileName),
		opts:    opts,
		gate:    g,
		commits: make(chan *commit, 1024),
		done:    make(chan struct{}),
	}
	// Create the buckets now, so that a damaged or foreign file is
	// reported at start and not at the first write.
	err = db.update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		g.close()
		return nil, err
	}
	db.wg.Add(1)
	go db.committer()
	return db, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close waits for queued writes to commit and releases the store.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.done)
		db.wg.Wait()
		db.gate.close()
	})
	return nil
}

// update runs fn in a write transaction, holding the gate.
func (db *DB) update(fn func(*bbolt.Tx) error) error {
	return db.with(false, func(b *bbolt.DB) error { return b.Update(fn) })
}

// view runs fn in a read transaction, holding the gate.
func (db *DB) view(fn func(*bbolt.Tx) error) error {
	return db.with(true, func(b *bbolt.DB) error { return b.View(fn) })
}

func (db *DB) with(readOnly bool, fn func(*bbolt.DB) error) error {
	if err := db.gate.lock(); err != nil {
		return err
	}
	defer db.gate.unlock()
	if readOnly {
		if _, err := os.Stat(db.path); errors.Is(err, os.ErrNotExist) {
			readOnly = false // let Open create it
		}
	}
	b, err := bbolt.Open(db.path, 0o600, &bbolt.Options{
		Timeout:  db.opts.LockTimeout,
		NoSync:   db.opts.Durability == store.Relaxed,
		ReadOnly: readOnly,
	})
	if err != nil {
		return fmt.Errorf("store: open %s: %w", db.path, err)
	}
	err = fn(b)
	if cerr := b.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: close %s: %w", db.path, cerr)
	}
	return err
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
