// Package bolt implements the store interfaces on a bbolt file, the
// embedded default.
//
// Several ctxguard processes share one data directory: an MCP client starts
// one wrap process per server, and a reviewer runs the CLI or the review UI
// beside them. bbolt allows one process at a time in a file, so this
// package never keeps the file open: every transaction takes an exclusive
// lock on a lock file next to the database (a blocking flock, which wakes
// the next process as soon as it is released, unlike bbolt's own 50 ms
// polling), opens the file, runs, and closes it. Opening costs tens of
// microseconds next to a commit's fsyncs, and readers work in bounded
// chunks, so no process holds the lock for long.
//
// Writes from many goroutines are group-committed: while one commit is on
// its way to the disk, the next ones queue, and all of them share the next
// transaction and its fsync.
package bolt
