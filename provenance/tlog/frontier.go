package tlog

import "golang.org/x/mod/sumdb/tlog"

// frontier is the right edge of a Merkle tree being built leaf by leaf: the
// hashes of its complete subtrees, largest first. It is all a verifier
// needs to compute the root at every size, in O(log n) memory.
type frontier struct {
	size   uint64
	hashes []tlog.Hash
	levels []int
}

func (f *frontier) push(h tlog.Hash) {
	f.hashes, f.levels = append(f.hashes, h), append(f.levels, 0)
	for n := len(f.hashes); n >= 2 && f.levels[n-1] == f.levels[n-2]; n = len(f.hashes) {
		f.hashes[n-2] = tlog.NodeHash(f.hashes[n-2], f.hashes[n-1])
		f.levels[n-2]++
		f.hashes, f.levels = f.hashes[:n-1], f.levels[:n-1]
	}
	f.size++
}

// root is the RFC 6962 tree hash of the leaves pushed so far.
func (f *frontier) root() tlog.Hash {
	if len(f.hashes) == 0 {
		return tlog.Hash{}
	}
	r := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		r = tlog.NodeHash(f.hashes[i], r)
	}
	return r
}

// frontierAt reads the right edge of the tree at size from its stored
// hashes: one complete subtree per bit set in size.
func frontierAt(size uint64, r tlog.HashReader) (*frontier, error) {
	f := &frontier{size: size}
	var indexes []int64
	var start uint64
	for level := 63; level >= 0; level-- {
		if size&(1<<level) == 0 {
			continue
		}
		indexes = append(indexes, tlog.StoredHashIndex(level, int64(start>>level)))
		f.levels = append(f.levels, level)
		start += 1 << level
	}
	if len(indexes) == 0 {
		return f, nil
	}
	hs, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	f.hashes = hs
	return f, nil
}
