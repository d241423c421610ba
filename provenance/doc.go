// Package provenance turns observed items into provenance records: their
// checksums, and where and when they were seen.
//
// Every item is hashed once, in one pass over its bytes, with SHA-256 (the
// integrity checksum that baselines and reviewers compare) and xxhash64 (the
// fast key for caches and deduplication).
package provenance
