package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard/store"
)

// Problem kinds, in the words audit verify prints.
const (
	// Modified: a record's bytes are not those logged for it.
	Modified = "modified"
	// Removed: a record the tree holds is missing.
	Removed = "removed"
	// Reordered: a record holds what was logged at another position.
	Reordered = "reordered"
	// Added: a record the tree does not hold.
	Added = "added"
	// BadCheckpoint: a checkpoint that does not verify (signature, or the
	// records do not hash to its root, or the log no longer reaches it).
	BadCheckpoint = "checkpoint"
)

// Problem is one way the log differs from what was logged and signed.
type Problem struct {
	Kind string
	// Seq is the record concerned, or the checkpoint's size.
	Seq    uint64
	Detail string
}

func (p Problem) String() string {
	if p.Kind == BadCheckpoint {
		return fmt.Sprintf("checkpoint at record %d: %s", p.Seq, p.Detail)
	}
	return fmt.Sprintf("record %d %s: %s", p.Seq, p.Kind, p.Detail)
}

// Options of Verify.
type Options struct {
	// Verifier is the log's public key.
	Verifier note.Verifier
	// Given are signed checkpoints kept elsewhere, to be proven prefixes
	// of the log.
	Given [][]byte
	// RootsAt are tree sizes whose roots, as recomputed from the records,
	// the report should carry (for pruning).
	RootsAt []uint64
	// MaxProblems bounds the problems listed (default 100); the rest are
	// only counted.
	MaxProblems int
	// Progress, when set, is called with the number of records rehashed
	// so far, every few thousand records.
	Progress func(done uint64)
}

// Report is what Verify found.
type Report struct {
	store.LogState
	// Rehashed counts the records whose bytes were hashed again.
	Rehashed uint64
	// Checkpoints counts the checkpoints verified (stored and given).
	Checkpoints int
	// Latest is the newest stored checkpoint that verified; nil when none.
	Latest *Checkpoint
	// Given are the given checkpoints, in order, once verified.
	Given []Checkpoint
	// Problems lists what was found, first found first; Unlisted counts
	// the problems beyond Options.MaxProblems.
	Problems []Problem
	Unlisted int
	// Roots holds the recomputed roots Options.RootsAt asked for.
	Roots map[uint64]tlog.Hash
	// Pruning is the signed statement of the last pruning, when records
	// were pruned and it verified.
	Pruning *PruneStatement
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// checkpointAt is a checkpoint to check, stored or given.
type checkpointAt struct {
	Checkpoint
	given bool
	index int // in Options.Given
}

func (c checkpointAt) what() string {
	if c.given {
		return "the given " + c.String()
	}
	return "the stored " + c.String()
}

// Verify re-derives the tree from the records and checks it against the
// leaves logged when they were stored, the signed checkpoints the store
// keeps, and the given ones. It reads the records once, in constant memory.
// Problems are reported, not returned: the error is for failures to read.
func Verify(ctx context.Context, log store.Log, opt Options) (*Report, error) {
	if opt.Verifier == nil {
		return nil, errors.New("tlog: verify needs the log's public key")
	}
	if opt.MaxProblems <= 0 {
		opt.MaxProblems = 100
	}
	r := &Report{Roots: map[uint64]tlog.Hash{}}
	v := &verifier{log: log, r: r, max: opt.MaxProblems}

	// The checkpoints, by size: stored ones must verify with the key; a
	// given one that does not is refused outright. They are read before
	// the log's state, so that none covers records the state does not:
	// other processes go on storing and signing meanwhile.
	var cps []checkpointAt
	err := log.Checkpoints(ctx, func(size uint64, signed []byte) error {
		c, err := Open(signed, opt.Verifier)
		if err != nil {
			v.problem(Problem{BadCheckpoint, size, err.Error()})
			return nil
		}
		if c.Size != size {
			v.problem(Problem{BadCheckpoint, size, fmt.Sprintf("stored under size %d, it says %d", size, c.Size)})
			return nil
		}
		cps = append(cps, checkpointAt{Checkpoint: c})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, signed := range opt.Given {
		c, err := Open(signed, opt.Verifier)
		if err != nil {
			return nil, fmt.Errorf("given checkpoint %d: %w", i+1, err)
		}
		cps = append(cps, checkpointAt{Checkpoint: c, given: true, index: i})
		r.Given = append(r.Given, c)
	}
	slices.SortStableFunc(cps, func(a, b checkpointAt) int { return cmpUint(a.Size, b.Size) })
	st, err := log.LogState(ctx)
	if err != nil {
		return nil, err
	}
	r.LogState = st
	v.pruned = st.Pruned

	// Records through Pruned are gone; the stored hashes of the tree at
	// Pruned stand for them, and a checkpoint signed at that size (when
	// pruning) anchors them.
	var fr *frontier
	var anchor *Checkpoint
	if st.Pruned > 0 {
		if fr, err = frontierAt(st.Pruned, log); err != nil {
			return nil, fmt.Errorf("tlog: the tree's hashes at the pruned boundary: %w", err)
		}
		for _, c := range cps {
			if c.Size == st.Pruned && !c.given {
				anchor = &c.Checkpoint
				break
			}
		}
		if anchor == nil { // a pruning that finished after the checkpoints were read
			if signed, err := log.Checkpoint(ctx, st.Pruned); err != nil {
				return nil, err
			} else if c, err := Open(signed, opt.Verifier); signed != nil && err == nil && c.Size == st.Pruned {
				cps = append(cps, checkpointAt{Checkpoint: c})
				slices.SortStableFunc(cps, func(a, b checkpointAt) int { return cmpUint(a.Size, b.Size) })
				anchor = &c
			}
		}
		if err := v.checkPruning(ctx, opt.Verifier); err != nil {
			return nil, err
		}
		if anchor == nil {
			v.problem(Problem{BadCheckpoint, st.Pruned, "no signed checkpoint anchors the pruned records"})
		} else if fr.root() != anchor.Root {
			v.problem(Problem{BadCheckpoint, st.Pruned, "the tree's stored hashes at the pruned boundary do not match the checkpoint signed when pruning"})
			anchor = nil
		}
	} else {
		fr = &frontier{}
	}

	// Checkpoints inside the pruned part are proven prefixes of the anchor.
	next := 0
	for ; next < len(cps) && cps[next].Size < st.Pruned; next++ {
		c := cps[next]
		if anchor == nil {
			v.problem(Problem{BadCheckpoint, c.Size, c.what() + " lies in the pruned records and nothing anchors them"})
			continue
		}
		proof, err := tlog.ProveTree(int64(anchor.Size), int64(c.Size), log)
		if err == nil {
			err = tlog.CheckTree(proof, int64(anchor.Size), anchor.Root, int64(c.Size), c.Root)
		}
		if err != nil {
			v.problem(Problem{BadCheckpoint, c.Size, c.what() + " is not a prefix of the log: " + err.Error()})
			continue
		}
		v.verified(c)
	}

	// Then the records, leaf by leaf.
	check := func() {
		if slices.Contains(opt.RootsAt, fr.size) {
			r.Roots[fr.size] = fr.root()
		}
		for ; next < len(cps) && cps[next].Size <= fr.size; next++ {
			c := cps[next]
			if c.Size < fr.size {
				continue // only a size of 0 can be passed over
			}
			if root := fr.root(); root != c.Root {
				if v.explained {
					// The records named above are why: saying so once
					// per checkpoint adds nothing.
					continue
				}
				v.problem(Problem{BadCheckpoint, c.Size, "the records do not hash to the root of " + c.what() +
					": they were rewritten together with the hashes logged for them"})
				continue
			}
			v.explained = false
			v.verified(c)
		}
	}
	check() // a checkpoint at the pruned boundary
	seq := st.Pruned + 1
	fill := func(through uint64) error { // records missing before through
		for ; seq < through && seq <= st.Size; seq++ {
			gone, err := v.prunedSince(ctx, seq)
			if err != nil {
				return err
			}
			if !gone {
				v.problem(Problem{Removed, seq, "the log holds a leaf for it, the store no record"})
			}
			h, err := v.logged(seq)
			if err != nil {
				return err
			}
			fr.push(h)
			check()
		}
		return nil
	}
	var grown uint64 // the tree's size when records beyond st.Size showed up
	err = log.ScanLeaves(ctx, st.Pruned, func(s uint64, value []byte, logged tlog.Hash) error {
		if s > st.Size {
			// Records a filter stored since the verification began are
			// in the tree now, and not this run's business; a record the
			// tree does not hold was added behind the store's back.
			if grown == 0 {
				now, err := log.LogState(ctx)
				if err != nil {
					return err
				}
				grown = now.Size
			}
			if s <= grown {
				return errStop
			}
			v.problem(Problem{Added, s, fmt.Sprintf("the log has %d leaves; this record was never logged", grown)})
			return nil
		}
		if err := fill(s); err != nil {
			return err
		}
		h := tlog.RecordHash(value)
		if h != logged {
			if err := v.misplaced(s, h); err != nil {
				return err
			}
		}
		fr.push(h)
		seq++
		r.Rehashed++
		if opt.Progress != nil && r.Rehashed%4096 == 0 {
			opt.Progress(r.Rehashed)
		}
		check()
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if err := fill(st.Size + 1); err != nil {
		return nil, err
	}
	for ; next < len(cps); next++ {
		c := cps[next]
		v.problem(Problem{BadCheckpoint, c.Size, fmt.Sprintf("%s, but the log has %d: records %d to %d were removed", c.what(), st.Size, st.Size+1, c.Size)})
	}
	if opt.Progress != nil {
		opt.Progress(r.Rehashed)
	}
	return r, nil
}

// checkPruning checks that the records missing from the log's start were
// pruned by retention: a signed statement says so for exactly those
// records, and the first record left was observed after its cutoff (the
// pruning stopped at the first record that was not due).
func (v *verifier) checkPruning(ctx context.Context, key note.Verifier) error {
	st := v.r.LogState
	fail := func(detail string) {
		v.problem(Problem{Removed, 1, fmt.Sprintf("records 1 to %d are gone and %s", st.Pruned, detail)})
	}
	if st.PruneStatement == nil {
		fail("no signed statement says retention pruned them")
		return nil
	}
	p, err := OpenPruneStatement(st.PruneStatement, key)
	if err != nil {
		fail("the statement of their pruning does not verify: " + err.Error())
		return nil
	}
	if p.Through != st.Pruned {
		fail(fmt.Sprintf("the signed statement of the last pruning covers records 1 to %d", p.Through))
		return nil
	}
	v.r.Pruning = &p
	err = v.log.ScanLeaves(ctx, st.Pruned, func(seq uint64, value []byte, _ tlog.Hash) error {
		var r struct {
			Time time.Time `json:"time"`
		}
		if seq == st.Pruned+1 && json.Unmarshal(value, &r) == nil && r.Time.Before(p.Before) {
			fail(fmt.Sprintf("record %d, observed %s, is older than the pruning's cutoff %s: the pruning did not stop where retention would",
				seq, r.Time.UTC().Format(time.RFC3339), p.Before.UTC().Format(time.RFC3339)))
		}
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return err
}

// verifier is one run of Verify.
type verifier struct {
	log store.Log
	r   *Report
	max int
	// explained is set when a record problem was found since the last
	// checkpoint that verified.
	explained bool
	// lookups counts the searches for a misplaced record's position.
	lookups int
	// pruned is how far retention had pruned when last looked at, and
	// lookedAt the missing record that made it look.
	pruned, lookedAt uint64
}

// prunedSince reports whether record seq, missing from the scan, was pruned
// by retention while the verification ran (another process prunes in the
// background): the pruning verified it, since it refuses to prune a log
// that does not verify. The log's state is looked at again at most once
// per chunk of missing records, so a log truncated by a million records
// costs a thousand looks, not a million.
func (v *verifier) prunedSince(ctx context.Context, seq uint64) (bool, error) {
	if seq > v.pruned && (v.lookedAt == 0 || seq >= v.lookedAt+1024) {
		st, err := v.log.LogState(ctx)
		if err != nil {
			return false, err
		}
		v.pruned, v.lookedAt = max(v.pruned, st.Pruned), seq
	}
	return seq <= v.pruned, nil
}

func (v *verifier) problem(p Problem) {
	if p.Kind != BadCheckpoint {
		v.explained = true
	}
	if len(v.r.Problems) < v.max {
		v.r.Problems = append(v.r.Problems, p)
	} else {
		v.r.Unlisted++
	}
}

func (v *verifier) verified(c checkpointAt) {
	v.r.Checkpoints++
	if !c.given && (v.r.Latest == nil || c.Size >= v.r.Latest.Size) {
		cc := c.Checkpoint
		v.r.Latest = &cc
	}
}

func (v *verifier) logged(seq uint64) (tlog.Hash, error) {
	hs, err := v.log.ReadHashes([]int64{tlog.StoredHashIndex(0, int64(seq-1))})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// reorderWindow is how far around a record whose bytes changed Verify
// looks for the position they were logged at.
const reorderWindow = 256

// misplaced names the problem with record seq, whose bytes hash to h and
// not to its logged leaf: if h was logged near seq, the record was moved
// (records swapped, or renumbered after a removal); otherwise it was
// modified. Only the first few such records are searched for.
func (v *verifier) misplaced(seq uint64, h tlog.Hash) error {
	if v.lookups < 16 {
		v.lookups++
		lo := max(seq, reorderWindow+1) - reorderWindow
		hi := min(seq+reorderWindow, v.r.Size)
		idx := make([]int64, 0, hi-lo+1)
		for s := lo; s <= hi; s++ {
			idx = append(idx, tlog.StoredHashIndex(0, int64(s-1)))
		}
		hs, err := v.log.ReadHashes(idx)
		if err != nil {
			return err
		}
		for i, lh := range hs {
			if s := lo + uint64(i); s != seq && lh == h {
				v.problem(Problem{Reordered, seq, fmt.Sprintf("it holds what was logged as record %d", s)})
				return nil
			}
		}
	}
	v.problem(Problem{Modified, seq, "its bytes do not hash to the leaf logged when it was stored"})
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
