package tlog

import (
	"crypto/sha256"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore is the tlog stored hashes of a tree, in memory.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

// The frontier's root is RFC 6962's tree hash at every size, as
// golang.org/x/mod computes it from stored hashes, and the frontier read
// back from stored hashes continues the same tree.
func TestFrontierMatchesTreeHash(t *testing.T) {
	var stored hashStore
	var f frontier
	for n := int64(0); n < 300; n++ {
		data := sha256.Sum256([]byte{byte(n), byte(n >> 8)})
		hs, err := tlog.StoredHashes(n, data[:], stored)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		f.push(tlog.RecordHash(data[:]))
		want, err := tlog.TreeHash(n+1, stored)
		if err != nil {
			t.Fatal(err)
		}
		if f.root() != want {
			t.Fatalf("size %d: root %v, want %v", n+1, f.root(), want)
		}
		g, err := frontierAt(uint64(n+1), stored)
		if err != nil {
			t.Fatal(err)
		}
		if g.root() != want {
			t.Fatalf("size %d: root read from stored hashes %v, want %v", n+1, g.root(), want)
		}
	}
}
