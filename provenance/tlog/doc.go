// Package tlog makes the provenance records an evidence-grade log.
//
// The store keeps a Merkle tree over the records in the manner of RFC 6962
// (store.Log: leaf n is record n+1's bytes as stored). This package signs
// checkpoints of the tree's head with the instance's own key, as signed
// notes (golang.org/x/mod/sumdb/note) whose body follows the C2SP
// tlog-checkpoint layout; verifies the records against the tree and the
// checkpoints, naming the first record that was modified, removed or
// reordered; proves that a checkpoint kept elsewhere is a prefix of the log
// (the log only grew); and prunes records past their retention without
// breaking any of that, by signing the checkpoint that anchors the rest.
package tlog
