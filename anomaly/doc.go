// Package anomaly runs rules over the stream of observations the filter
// makes (one per content item a server returns) and reports what is
// unusual: a resource that changes while it is read often, a burst of
// changes across a knowledge base, a bulk read, access outside working
// hours, a server or URI prefix never seen before, a sudden jump in a
// document's size.
//
// The rules and their thresholds are data (Rules, read from the [anomaly]
// section of the configuration); DefaultRules documents the defaults,
// chosen to stay quiet on a normal session.
//
// # State
//
// A Detector keeps what the rules count in memory: per document its last
// checksum and size and its reads and changes in a sliding window, per
// server its changes and the URI prefixes it served, per session (in
// memory only) what it read. A request without a session of its own (the
// stateless revision over HTTP, where the proxy makes up a session per
// request) counts for its caller instead (its token's subject or checksum,
// else its client), a CallerWindow at a time. Over stdio every client session is its own
// process sharing one data directory, so the per-document and per-server
// state is shared through the store:
//
//   - the provenance records are the source of truth: every observation is
//     a record, stored durably before the content is forwarded;
//   - the store keeps a snapshot of the state (store.AnomalyState) with the
//     records cursor it is current to;
//   - a process starting restores the snapshot and replays the records
//     after its cursor; while it runs, it reads the records other
//     processes append (its own sessions' records it has seen already) and
//     saves the entries that changed, every sync interval, in one
//     transaction, off the hot path.
//
// A process that exits without saving loses nothing: the next one replays
// its records. What one process sees of another lags by up to one sync
// interval. A snapshot is only replaced by one current to a cursor at
// least as far, so the stored state is the state of the records up to its
// cursor, except that the items a process had observed but not yet stored
// when it saved may be counted twice by a later replay (a read or a change
// too many, never one too few).
package anomaly
