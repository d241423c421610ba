package search

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/blevesearch/bleve/v2"
	bbolt "go.etcd.io/bbolt"
)

// ErrBusy is returned by Open when another process (or another Open in
// this one) has the index.
var ErrBusy = errors.New("search: index busy")

// lockName is the file in the index folder that Open holds an exclusive
// flock on. It is ours, not bleve's: it guards the whole life of an Index,
// including removing a damaged index and creating it afresh, which bleve's
// own lock (on store/root.bolt) cannot, since that file is what gets
// removed.
const lockName = "ctxguard.lock"

// Internal keys, kept in the index's own storage.
var (
	keyVersion = []byte("ctxguard.mapping")
	keyCursor  = []byte("ctxguard.cursor")
)

// Index is the bleve index over quarantined items. It is safe for
// concurrent use by goroutines; one process at a time has it open.
type Index struct {
	dir  string
	lock *os.File

	// syncMu makes Syncs (and Close) take turns. idx changes only under
	// both syncMu and mu, in a rebuild or Close: Sync reads it under
	// syncMu, searches under mu.RLock.
	syncMu sync.Mutex
	mu     sync.RWMutex
	idx    bleve.Index
}

// Open opens (creating) the index in dir, the data directory's "index"
// folder. An index that cannot be opened because it is damaged or of
// another mapping version is removed and created afresh: it is a cache,
// and the next Sync fills it from the store. When another process has the
// index, Open waits up to timeout and then returns an error wrapping
// ErrBusy.
func Open(dir string, timeout time.Duration) (*Index, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("search: create index folder: %w", err)
	}
	lock, err := lockDir(dir, timeout)
	if err != nil {
		return nil, err
	}
	idx, err := openBleve(dir, timeout)
	if errors.Is(err, bbolt.ErrTimeout) {
		// Only a foreign process holds bleve's lock without ours.
		err = busy(dir, timeout)
	}
	if err != nil {
		unlock(lock)
		return nil, err
	}
	return &Index{dir: dir, lock: lock, idx: idx}, nil
}

// openBleve opens the index in dir, or creates it when there is none, or
// when the one there is damaged or of another mapping version.
func openBleve(dir string, timeout time.Duration) (bleve.Index, error) {
	idx, err := bleve.OpenUsing(dir, map[string]any{
		// bleve's lock has no wait when the timeout is 0: give it a
		// moment, since our lock already waited.
		"bolt_timeout": max(timeout, 100*time.Millisecond).String(),
	})
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return nil, err
	case err == nil:
		v, verr := idx.GetInternal(keyVersion)
		if verr == nil && string(v) == mappingVersion {
			return idx, nil
		}
		idx.Close()
	}
	// Anything else (no index yet, a damaged one, a foreign mapping) is
	// answered the same way: it is a cache, so start afresh.
	return create(dir)
}

// create removes bleve's files from dir and creates an empty index there.
// It removes nothing else, so that a wrong dir (the data directory itself)
// costs no data.
func create(dir string) (bleve.Index, error) {
	for _, name := range []string{"index_meta.json", "index_meta.json_temp", "store"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("search: remove old index: %w", err)
		}
	}
	idx, err := bleve.New(dir, newMapping())
	if err != nil {
		return nil, fmt.Errorf("search: create index in %s: %w", dir, err)
	}
	// The version goes in last: an index without it, left by a crash
	// during creation, is created afresh at the next Open.
	if err := idx.SetInternal(keyVersion, []byte(mappingVersion)); err != nil {
		idx.Close()
		return nil, fmt.Errorf("search: create index in %s: %w", dir, err)
	}
	return idx, nil
}

// lockDir takes the exclusive flock on dir's lock file, polling until
// timeout: flock itself cannot time out.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("search: open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return f, nil
		case err == syscall.EINTR:
			continue
		case err != syscall.EWOULDBLOCK:
			f.Close()
			return nil, fmt.Errorf("search: lock %s: %w", f.Name(), err)
		case !time.Now().Before(deadline):
			f.Close()
			return nil, busy(dir, timeout)
		}
		time.Sleep(min(20*time.Millisecond, time.Until(deadline)))
	}
}

func busy(dir string, timeout time.Duration) error {
	return fmt.Errorf("%w: the index in %s is open in another process (waited %s); close it or give this one its own data directory", ErrBusy, dir, timeout)
}

// unlock releases the lock; closing the file drops the flock.
func unlock(f *os.File) { f.Close() }

// Close waits for a Sync in progress, closes the index and lets another
// process open it.
func (x *Index) Close() error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	var err error
	if x.idx != nil {
		err = x.idx.Close()
		x.idx = nil
	}
	if x.lock != nil {
		unlock(x.lock)
		x.lock = nil
	}
	if err != nil {
		return fmt.Errorf("search: close: %w", err)
	}
	return nil
}
