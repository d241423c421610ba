package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
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
		return res, log.PruneRecords(ctx, st.Pruned, nil)
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
	statement, err := PruneStatement{Origin: key.Signer.Name(), Through: res.Through, Before: cutoff, Time: now}.Sign(key.Signer)
	if err != nil {
		return Pruned{}, err
	}
	if err := log.PruneRecords(ctx, res.Through, statement); err != nil {
		return Pruned{}, err
	}
	return res, nil
}

// PruneStatement is the signed record of a pruning: records 1 to Through
// were removed because they were observed before Before. Without it, a
// removal of the log's start would pass for retention.
type PruneStatement struct {
	Origin  string
	Through uint64
	Before  time.Time
	Time    time.Time
}

func (p PruneStatement) body() string {
	return fmt.Sprintf("%s\nprune %d\nbefore %s\ntime %s\n", p.Origin, p.Through,
		p.Before.UTC().Format(time.RFC3339Nano), p.Time.UTC().Format(time.RFC3339Nano))
}

// Sign returns the statement as a signed note.
func (p PruneStatement) Sign(s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: p.body()}, s)
}

// OpenPruneStatement checks that signed is a pruning statement signed by v
// and returns it.
func OpenPruneStatement(signed []byte, v note.Verifier) (PruneStatement, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return PruneStatement{}, fmt.Errorf("tlog: pruning statement %w %s (%v)", ErrSignature, v.Name(), err)
	}
	var p PruneStatement
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 5 || lines[4] != "" {
		return PruneStatement{}, errors.New("tlog: pruning statement: not four lines")
	}
	p.Origin = lines[0]
	through, ok1 := strings.CutPrefix(lines[1], "prune ")
	before, ok2 := strings.CutPrefix(lines[2], "before ")
	at, ok3 := strings.CutPrefix(lines[3], "time ")
	var err1, err2, err3 error
	p.Through, err1 = strconv.ParseUint(through, 10, 64)
	p.Before, err2 = time.Parse(time.RFC3339Nano, before)
	p.Time, err3 = time.Parse(time.RFC3339Nano, at)
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || err3 != nil || p.body() != n.Text || p.Origin != v.Name() {
		return PruneStatement{}, errors.New("tlog: pruning statement: malformed")
	}
	return p, nil
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
