package tlog

import (
	"bytes"
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

// Thin drops stored checkpoints older than keepAll, keeping the last one of
// each UTC day, and never the one anchoring pruned records: every filter
// process signs when it stops, so checkpoints pile up, and each one costs
// audit verify a signature check. What is dropped is redundant: a later
// checkpoint covers the same records. It returns how many it dropped.
func Thin(ctx context.Context, log store.Log, now time.Time, keepAll time.Duration) (int, error) {
	st, err := log.LogState(ctx)
	if err != nil {
		return 0, err
	}
	type kept struct {
		size uint64
		day  string
	}
	var drop []uint64
	var prev *kept
	err = log.Checkpoints(ctx, func(size uint64, signed []byte) error {
		c, err := parseSigned(signed)
		if err != nil || size == st.Pruned || !c.Time.Before(now.Add(-keepAll)) {
			prev = nil // left for audit verify to judge, or kept
			return nil
		}
		day := c.Time.UTC().Format(time.DateOnly)
		if prev != nil && prev.day == day {
			drop = append(drop, prev.size) // a later one of the same day follows
		}
		prev = &kept{size, day}
		return nil
	})
	if err != nil || len(drop) == 0 {
		return 0, err
	}
	return len(drop), log.DeleteCheckpoints(ctx, drop)
}

// parseSigned reads a checkpoint's body without checking its signature.
func parseSigned(signed []byte) (Checkpoint, error) {
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("tlog: not a signed note")
	}
	return parseBody(string(signed[:i+1]))
}
