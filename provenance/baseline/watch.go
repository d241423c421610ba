package baseline

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ctxguard/ctxguard/store"
)

// Watcher keeps a Set loaded from manifest paths and a trust store, and
// loads it again when any of their files change, without a restart. It
// polls file metadata rather than subscribing to events: editors and
// deploy tools replace files by rename, and a poll sees every such change.
type Watcher struct {
	// Paths are the manifest files and directories.
	Paths []string
	// TrustDir is the data directory holding the trust store.
	TrustDir string
	// Store remembers accepted sequences (rollback protection).
	Store store.Baselines
	// Interval between polls; DefaultReloadInterval when zero.
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time

	cur   atomic.Pointer[Set]
	stamp uint64
}

// DefaultReloadInterval is how often a Watcher looks for changed files.
const DefaultReloadInterval = 2 * time.Second

// snapshotGrace is how long a replaced Set's snapshots stay open for the
// diffs still reading them.
const snapshotGrace = time.Minute

// Start loads the baselines and keeps them current until ctx ends. A
// failure of the first load is returned; later failures keep the last good
// set and are logged.
func (w *Watcher) Start(ctx context.Context) error {
	if w.Interval <= 0 {
		w.Interval = DefaultReloadInterval
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if err := w.reload(ctx); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(w.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if w.changed() {
					if err := w.reload(ctx); err != nil {
						w.Logger.Error("baselines: reload failed; keeping the previous manifests", "err", err)
					}
				}
			}
		}
	}()
	return nil
}

// Set returns the current baselines.
func (w *Watcher) Set() *Set { return w.cur.Load() }

func (w *Watcher) changed() bool {
	return w.fingerprint() != w.stamp
}

func (w *Watcher) reload(ctx context.Context) error {
	stamp := w.fingerprint()
	trust, err := LoadTrust(w.TrustDir)
	if err != nil {
		return err
	}
	s, err := Load(ctx, w.Paths, trust, w.Store, w.Now())
	if err != nil {
		return err
	}
	w.stamp = stamp
	if old := w.cur.Swap(s); old != nil {
		time.AfterFunc(snapshotGrace, old.Close)
	}
	rejected := 0
	for _, l := range s.Manifests {
		if l.Rejected {
			rejected++
			w.Logger.Warn("baselines: manifest rejected", "path", l.Path, "manifest", l.Name(), "reason", l.Reason)
		}
	}
	w.Logger.Info("baselines loaded", "manifests", len(s.Manifests), "rejected", rejected, "entries", s.Entries())
	return nil
}

// fingerprint hashes the metadata of every file the set depends on: the
// paths, the files in the directories among them, and the trust store.
func (w *Watcher) fingerprint() uint64 {
	h := fnv.New64a()
	stat := func(p string) {
		info, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s:missing\n", p)
			return
		}
		fmt.Fprintf(h, "%s:%d:%d:%v\n", p, info.Size(), info.ModTime().UnixNano(), info.Mode())
	}
	for _, p := range w.Paths {
		stat(p)
		stat(p + SignatureSuffix)
		if des, err := os.ReadDir(p); err == nil {
			for _, de := range des {
				stat(filepath.Join(p, de.Name()))
			}
		}
	}
	stat(filepath.Join(w.TrustDir, AllowedSignersFile))
	stat(filepath.Join(w.TrustDir, ScopesFile))
	return h.Sum64()
}
