// Package search is the full-text index over the quarantine queue, on
// bleve. It lets reviewers find held items by words in their content, by
// URI, server, detector, severity and status.
//
// The index is a cache of the store: it lives in the data directory's
// index/ folder, holds no fact the store does not, and is rebuilt from the
// store's change log (store.Quarantine.Changes) whenever it is missing,
// damaged, of another mapping version, or ahead of the store. Sync applies
// the changes after the cursor it keeps in the index itself, written in the
// same bleve batch as the documents, so the two never disagree after a
// crash.
//
// One process at a time has the index open: Open takes an exclusive flock
// on a file of ours in the folder (bleve's own lock is on a file that a
// rebuild removes), waiting up to a timeout before it returns ErrBusy.
//
// Quarantined content is attacker-controlled. It is indexed as data only,
// cut at MaxContent, and not stored in the index: the store has it, and the
// index stays small.
package search
