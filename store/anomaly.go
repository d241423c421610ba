package store

import "context"

// AnomalyState keeps a snapshot of what anomaly detection counts (per
// document, per server, per URI prefix), current to a position in the
// records log, so that processes sharing a data directory share it. The
// entries are opaque to the store: keys and values of the anomaly package.
// Keys are not empty and do not start with a NUL byte, which is the
// implementation's own key space (entries with such keys are ignored).
//
// Implementations are safe for concurrent use by goroutines and processes.
type AnomalyState interface {
	// LoadAnomalyState calls fn for each entry, in key order, holding no
	// lock while fn runs, and returns the records cursor (a Seq) the
	// snapshot is current to: 0 when nothing was saved.
	LoadAnomalyState(ctx context.Context, fn func(key string, value []byte) error) (cursor uint64, err error)

	// SaveAnomalyState stores the entries (a nil value deletes its key)
	// and the cursor, in one transaction, unless the stored cursor is
	// greater than cursor: a snapshot never goes back to an earlier
	// position of the log. saved reports whether it stored them.
	SaveAnomalyState(ctx context.Context, cursor uint64, entries map[string][]byte) (saved bool, err error)
}
