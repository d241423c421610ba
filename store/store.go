package store

import (
	"context"
	"errors"
	"time"

	"github.com/ctxguard/ctxguard"
)

// Records is the append-only log of provenance records.
//
// Implementations are safe for concurrent use, also by several processes
// sharing one data directory (every wrap process of an MCP client writes to
// it while a reviewer reads).
type Records interface {
	// AppendRecords stores recs in order and sets their Seq. It returns
	// once the records are as durable as the store was opened to make them;
	// concurrent callers may share one commit. On error, none of recs was
	// stored.
	AppendRecords(ctx context.Context, recs []*ctxguard.Record) error

	// ScanRecords calls fn for each record that q selects, in Seq order,
	// holding no lock while fn runs. It reads in bounded chunks, so a scan
	// of any length runs in constant memory. An error from fn stops the
	// scan and is returned.
	ScanRecords(ctx context.Context, q RecordQuery, fn func(*ctxguard.Record) error) error
}

// RecordQuery selects records. The zero value selects all of them.
type RecordQuery struct {
	// AfterSeq selects records with a greater Seq.
	AfterSeq uint64
	// Since and Until, when set, select records observed in [Since, Until).
	Since, Until time.Time
	// Last, when positive, starts the scan at the last Last records of the
	// log (for tail); AfterSeq, Since and Until still apply.
	Last int
	// Limit, when positive, stops the scan after Limit records.
	Limit int
	// Progress, when set, is called now and then with the Seq of the last
	// record read, selected or not (for progress bars).
	Progress func(seq uint64)
}

// Durability says when a write counts as done.
type Durability int

const (
	// Strict writes are on stable storage (fsync) before they return: a
	// power loss loses nothing that a client was shown.
	Strict Durability = iota
	// Relaxed writes are in the operating system's cache before they
	// return: a crash of ctxguard loses nothing; a power loss may lose
	// the most recent records (never the database file).
	Relaxed
)

// ParseDurability reads "strict" or "relaxed".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "strict", "":
		return Strict, nil
	case "relaxed":
		return Relaxed, nil
	}
	return Strict, errors.New(`store: durability must be "strict" or "relaxed"`)
}

func (d Durability) String() string {
	if d == Relaxed {
		return "relaxed"
	}
	return "strict"
}

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store: closed")
