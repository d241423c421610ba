package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/provenance/tlog"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// auditKeyPath is the checkpoint signing key's file.
func auditKeyPath(g *Globals, dir string) string {
	if g.cfg.Audit.Key != "" {
		return g.cfg.Audit.Key
	}
	return filepath.Join(dir, "audit.key")
}

// auditKey loads the instance's checkpoint signing key, making it on first
// use.
func auditKey(g *Globals, dir string) (*tlog.Key, error) {
	name := g.cfg.Audit.Name
	if name == "" {
		host, _ := os.Hostname()
		name = tlog.KeyName(host)
	}
	return tlog.LoadOrCreateKey(auditKeyPath(g, dir), name)
}

// startAuditLog runs the log's background work while a filter has the store
// open: a signed checkpoint at the configured interval and when the store
// closes, and pruning past the retention period. A key that cannot be
// loaded is logged, not fatal: the records are still stored and chained,
// only not signed, and audit verify says so.
func startAuditLog(g *Globals, dir string, db *bolt.DB, log *slog.Logger) {
	cfg := g.cfg.Audit
	key, err := auditKey(g, dir)
	if err != nil {
		log.Error("audit: no checkpoint signing key; the provenance log is not being signed", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cp := &tlog.Checkpointer{Log: db, Key: key, Logger: log,
		Interval: orDefault(cfg.CheckpointInterval.Duration, config.DefaultCheckpointInterval)}
	wg.Go(func() { cp.Run(ctx) })
	if retention := cfg.RetentionOrDefault(); retention > 0 {
		p := &pruner{db: db, key: key, log: log, retention: retention,
			interval: orDefault(cfg.PruneInterval.Duration, config.DefaultPruneInterval),
			stamp:    filepath.Join(dir, "audit.pruned")}
		wg.Go(func() { p.run(ctx) })
	}
	db.BeforeClose(func() {
		cancel()
		wg.Wait()
	})
}

// orDefault is d, or def when d is not set.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// pruner removes records past their retention, at an interval. Every
// filter process sharing a data directory runs one; a stamp file's time
// lets one of them do the work per interval.
type pruner struct {
	db        *bolt.DB
	key       *tlog.Key
	log       *slog.Logger
	retention time.Duration
	interval  time.Duration
	stamp     string
}

// thinAfter is the age past which checkpoints are thinned to one a day.
const thinAfter = 7 * 24 * time.Hour

// pruneDelay is how long a process runs before it first looks: not at
// start, where it would compete with the first requests.
var pruneDelay = 30 * time.Second

func (p *pruner) run(ctx context.Context) {
	t := time.NewTimer(min(pruneDelay, p.interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if release, ok := p.due(); ok {
			now := time.Now()
			res, err := tlog.Prune(ctx, p.db, p.key, now.Add(-p.retention), now)
			switch {
			case err != nil && ctx.Err() == nil:
				p.log.Error("audit: pruning records past retention", "err", err)
			case res.Through >= res.From:
				p.log.Info("audit: pruned records past retention", "from", res.From, "through", res.Through, "retention", p.retention.String())
			}
			if n, err := tlog.Thin(ctx, p.db, now, thinAfter); err != nil && ctx.Err() == nil {
				p.log.Error("audit: thinning old checkpoints", "err", err)
			} else if n > 0 {
				p.log.Debug("audit: dropped redundant old checkpoints", "count", n)
			}
			release()
		}
		t.Reset(p.interval)
	}
}

// due claims this interval's pruning: it takes a lock that the other
// processes of the data directory then fail to take (held until release),
// and finds the stamp older than the interval. The caller calls release
// when due is true.
func (p *pruner) due() (release func(), ok bool) {
	f, err := os.OpenFile(p.stamp+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close() // another process is pruning now
		return nil, false
	}
	release = func() { f.Close() } // closing drops the lock
	if fi, err := os.Stat(p.stamp); err == nil && time.Since(fi.ModTime()) < p.interval {
		release()
		return nil, false
	}
	if err := os.WriteFile(p.stamp, nil, 0o600); err != nil {
		release()
		return nil, false
	}
	now := time.Now()
	os.Chtimes(p.stamp, now, now)
	return release, true
}
