package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard/store"
)

// Pruned is what Prune did.
type Pruned struct {
	// From and Through are the records removed (none when Through < From).
	From, Through uint64
	// Anchor is the checkpoint at Through that anchors what remains.
	Anchor *Checkpoint
}

var errStop = errors.New("stop")

// Prune removes the records observed before cutoff, oldest first, stopping
// at the first record observed at or after it. It verifies the log first
// and refuses to prune one that does not verify (that would destroy the
// evidence), then signs a checkpoint at the new boundary, which anchors
// the rest: audit verify and proofs about older checkpoints keep working.
func Prune(ctx context.Context, log store.Log, key *Key, cutoff time.Time, now time.Time) (Pruned, error) {
	st, err := log.LogState(ctx)
	if err != nil {
		return Pruned{}, err
	}
	res := Pruned{From: st.Pruned + 1, Through: st.Pruned}
	err = log.ScanLeaves(ctx, st.Pruned, func(seq uint64, value []byte, _ tlog.Hash) error {
		var r struct {
			Time time.Time `json:"time"`
		}
		if seq > st.Size {
			return errStop
		}
		if err := json.Unmarshal(value, &r); err != nil {
			return fmt.Errorf("tlog: record %d: %w", seq, err)
		}
		if !r.Time.Before(cutoff) {
			return errStop
		}
		res.Through = seq
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return Pruned{}, err
	}
	if res.Through <= st.Pruned {
		// Nothing new is due; finish a pruning a crash interrupted.
		return res, log.PruneRecords(ctx, st.Pruned)
	}
	rep, err := Verify(ctx, log, Options{Verifier: key.Verifier, RootsAt: []uint64{res.Through}})
	if err != nil {
		return Pruned{}, err
	}
	if !rep.OK() {
		return Pruned{}, fmt.Errorf("tlog: not pruning a log that does not verify (%d problems; first: %s): run ctxguard audit verify",
			len(rep.Problems)+rep.Unlisted, rep.Problems[0])
	}
	root, ok := rep.Roots[res.Through]
	if !ok {
		return Pruned{}, fmt.Errorf("tlog: no root at record %d", res.Through)
	}
	c, _, _, err := signAt(ctx, log, key, res.Through, root, now)
	if err != nil {
		return Pruned{}, err
	}
	if c.Root != root {
		return Pruned{}, fmt.Errorf("tlog: the checkpoint kept at record %d does not match the records", res.Through)
	}
	res.Anchor = &c
	if err := log.PruneRecords(ctx, res.Through); err != nil {
		return Pruned{}, err
	}
	return res, nil
}
