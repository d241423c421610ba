package store

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// Log is the tamper-evident side of the records: a Merkle tree in the
// manner of RFC 6962 whose leaf n is record n+1 exactly as it was stored
// (tlog.RecordHash of its bytes), the tree's stored hashes in the layout of
// golang.org/x/mod/sumdb/tlog, and the signed checkpoints of its head.
//
// The store only keeps the tree; package provenance/tlog signs checkpoints
// and verifies the records against them. Whoever can write the store can
// rewrite the tree too: the signed checkpoints, and copies of them kept
// elsewhere, are what make a change evident.
type Log interface {
	tlog.HashReader

	// LogState makes every appended record part of the tree (the records
	// still in a write-ahead log move into it) and says how far the tree
	// and the records reach.
	LogState(ctx context.Context) (LogState, error)

	// ScanLeaves calls fn for each record after seq after, in Seq order,
	// with the record's bytes as stored and the leaf hash logged for it when
	// it was stored (the zero Hash when none was). A record missing from
	// the store is skipped: the caller sees the gap in seq. Constant
	// memory; fn must not keep value.
	ScanLeaves(ctx context.Context, after uint64, fn func(seq uint64, value []byte, logged tlog.Hash) error) error

	// PutCheckpoint keeps a signed checkpoint of the tree at size. The
	// first one kept for a size stays.
	PutCheckpoint(ctx context.Context, size uint64, signed []byte) error

	// Checkpoints calls fn for each kept checkpoint in order of size.
	Checkpoints(ctx context.Context, fn func(size uint64, signed []byte) error) error

	// Checkpoint returns the checkpoint kept for size, or nil.
	Checkpoint(ctx context.Context, size uint64) ([]byte, error)

	// DeleteCheckpoints drops the kept checkpoints of the given sizes
	// (thinning old ones; the tree and the records are untouched).
	DeleteCheckpoints(ctx context.Context, sizes []uint64) error

	// PruneRecords removes the records with Seq <= through (retention),
	// keeping statement (the signed statement of the pruning) with the
	// mark, in one transaction. The tree's hashes stay, so proofs about
	// the pruned part remain possible; LogState says how far pruning went.
	// Pruning is done in bounded transactions and may be resumed after a
	// crash by calling it again (with through no greater than the mark, the
	// statement is left as it is).
	PruneRecords(ctx context.Context, through uint64, statement []byte) error
}

// LogState is how far the records and their tree reach.
type LogState struct {
	// Size is the number of leaves in the tree: records 1..Size are in it.
	Size uint64
	// Records is the Seq of the newest record stored.
	Records uint64
	// Pruned is the Seq through which records were removed by retention
	// (0 when none were), and PruneStatement the signed statement of that
	// pruning.
	Pruned         uint64
	PruneStatement []byte
}
