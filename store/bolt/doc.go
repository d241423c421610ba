// Package bolt implements the store interfaces on a bbolt file, the
// embedded default.
//
// Several ctxguard processes share one data directory: an MCP client starts
// one wrap process per server, and a reviewer runs the CLI or the review UI
// beside them. bbolt allows one process at a time in a file, so a process
// opens the file only while it holds an exclusive lock on a gate file next
// to it (a blocking flock, which wakes the next process as soon as it is
// released, unlike bbolt's own 50 ms polling). Opening and closing cost
// about as much as a small commit, so a busy process keeps the file open
// between transactions; it lets go after a short idle time (Linger), or at
// once, after its current transaction, when another process is waiting.
// Readers work in bounded chunks, so no process holds the gate for long.
//
// Records are appended to a write-ahead log next to the database (wal.go):
// a bbolt commit costs two ordered fdatasyncs, a log append one. The log's
// records move into bbolt in one transaction at a checkpoint (when the log
// reaches CheckpointBytes, and before the process lets go of the file), so
// the log is empty whenever no process holds the gate, except after a
// crash; the next process to take the gate recovers it. The checkpoint
// that the log's size calls for runs in the background while appends go
// on (db.go, move); the records appended meanwhile follow, in a small
// transaction (and the log starts again) or, when many, in another move. Reads merge bbolt and the
// records still in the log, by sequence number.
//
// Writes from many goroutines are group-committed: while one append is on
// its way to the disk, the next ones queue, and all of them share the next
// log write and its fdatasync.
package bolt
