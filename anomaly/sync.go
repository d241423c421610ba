package anomaly

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// MaxReplay bounds the records a process replays when it starts: the
// records since the last saved snapshot, or, when there is none (a store
// that ran without anomaly detection), the newest ones.
const MaxReplay = 200000

// DefaultSyncInterval is how often a running detector reads the records
// other processes stored and saves its state.
const DefaultSyncInterval = time.Second

// Restore loads the saved state and replays the records stored after it,
// then saves what the replay changed, so that the next process replays
// from here. Call it once, before the first Observe.
func (d *Detector) Restore(ctx context.Context, st store.AnomalyState, recs store.Records) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	cursor, err := st.LoadAnomalyState(ctx, d.load)
	if err != nil {
		return err
	}
	d.cursor = cursor
	if err := d.replay(ctx, recs, false, MaxReplay); err != nil {
		return err
	}
	return d.save(ctx, st)
}

// Sync learns the records other processes stored since the last sync and
// saves the state that changed. It does the I/O of the detector, off the
// filter's path: Run calls it every interval. A store with a Closed method
// that reports true makes it return store.ErrClosed.
func (d *Detector) Sync(ctx context.Context, st store.AnomalyState, recs store.Records) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if c, ok := st.(interface{ Closed() bool }); ok && c.Closed() {
		return store.ErrClosed
	}
	if err := d.replay(ctx, recs, true, 0); err != nil {
		return err
	}
	return d.save(ctx, st)
}

// replay learns the records after the cursor (the last last of them, when
// last is positive), skipping those of this process's own sessions when
// skipOwn.
func (d *Detector) replay(ctx context.Context, recs store.Records, skipOwn bool, last int) error {
	return recs.ScanRecords(ctx, store.RecordQuery{AfterSeq: d.cursor, Last: last}, func(r *ctxguard.Record) error {
		d.cursor = max(d.cursor, r.Seq)
		if a := r.Anomaly; a != nil && a.Quarantine && r.QuarantineID != "" {
			// Another process held content for review: hold it here too.
			d.MarkHeld(r.Server, r.URI, r.SHA256, r.QuarantineID, a.Rule)
			return nil
		}
		o, ok := FromRecord(r)
		if !ok || (skipOwn && o.Session != "" && d.Own(o.Session)) {
			return nil
		}
		d.Learn(o)
		return nil
	})
}

func (d *Detector) save(ctx context.Context, st store.AnomalyState) error {
	entries := d.takeDirty()
	if entries == nil {
		return nil
	}
	saved, err := st.SaveAnomalyState(ctx, d.cursor, entries)
	if !saved {
		// Another process saved a later snapshot (or the store failed):
		// keep them for the next save, once this one has caught up.
		d.markDirty(entries)
	}
	return err
}

// Run syncs every interval (DefaultSyncInterval when zero) until ctx is
// done or the store is closed, and once more then, while the store is
// still open. Failures are logged, not fatal: the records keep what the
// state would lose.
func (d *Detector) Run(ctx context.Context, st store.AnomalyState, recs store.Records, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = DefaultSyncInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			_ = d.Sync(context.WithoutCancel(ctx), st, recs)
			return
		case <-t.C:
		}
		err := d.Sync(ctx, st, recs)
		switch {
		case errors.Is(err, store.ErrClosed):
			return
		case err != nil && !failing && log != nil:
			log.Warn("anomaly: could not sync the detector's state with the store; will retry", "err", err)
		case err == nil && failing && log != nil:
			log.Info("anomaly: syncing the detector's state again")
		}
		failing = err != nil
	}
}
