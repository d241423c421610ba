package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// LogStore is a store with both the records and their tree.
type LogStore interface {
	store.Records
	store.Log
}

// TestLog runs the conformance tests of store.Log. open returns a new,
// empty store for each subtest.
func TestLog(t *testing.T, open func(t *testing.T) LogStore) {
	ctx := context.Background()
	appendN := func(t *testing.T, s LogStore, from, n int) {
		t.Helper()
		var recs []*ctxguard.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, &ctxguard.Record{Origin: ctxguard.Origin{Server: "kb", URI: fmt.Sprintf("file:///kb/%d", i)}, Kind: ctxguard.KindText, SHA256: fmt.Sprint(i)})
		}
		if err := s.AppendRecords(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("the tree covers every record, leaves are the stored bytes", func(t *testing.T) {
		s := open(t)
		if st, err := s.LogState(ctx); err != nil || st.Size != 0 || st.Records != 0 || st.Pruned != 0 || st.PruneStatement != nil {
			t.Fatalf("empty store: %+v %v", st, err)
		}
		appendN(t, s, 0, 70)
		appendN(t, s, 70, 3)
		st, err := s.LogState(ctx)
		if err != nil || st.Size != 73 || st.Records != 73 || st.Pruned != 0 {
			t.Fatalf("LogState %+v %v", st, err)
		}
		var leaves []tlog.Hash
		var seqs []uint64
		err = s.ScanLeaves(ctx, 0, func(seq uint64, value []byte, logged tlog.Hash) error {
			var r ctxguard.Record
			if err := json.Unmarshal(value, &r); err != nil {
				return fmt.Errorf("record %d: not its JSON: %v", seq, err)
			}
			if r.Origin.URI != fmt.Sprintf("file:///kb/%d", seq-1) {
				return fmt.Errorf("record %d holds %s", seq, r.Origin.URI)
			}
			if tlog.RecordHash(value) != logged {
				return fmt.Errorf("record %d: the logged leaf is not the hash of its bytes", seq)
			}
			leaves, seqs = append(leaves, logged), append(seqs, seq)
			return nil
		})
		if err != nil || len(leaves) != 73 || seqs[0] != 1 || seqs[72] != 73 {
			t.Fatalf("ScanLeaves: %v (%d leaves)", err, len(leaves))
		}
		// The stored hashes are the RFC 6962 tree of those leaves.
		var want []tlog.Hash
		var mem hashes
		for i, h := range leaves {
			hs, err := tlog.StoredHashesForRecordHash(int64(i), h, mem)
			if err != nil {
				t.Fatal(err)
			}
			mem = append(mem, hs...)
		}
		want = append(want, mem...)
		got, err := s.ReadHashes(indexes(len(want)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("stored hash %d differs", i)
			}
		}
		var from uint64
		if err := s.ScanLeaves(ctx, 70, func(seq uint64, _ []byte, _ tlog.Hash) error {
			if from == 0 {
				from = seq
			}
			return nil
		}); err != nil || from != 71 {
			t.Fatalf("ScanLeaves after 70 starts at %d: %v", from, err)
		}
	})

	t.Run("checkpoints: the first kept for a size stays", func(t *testing.T) {
		s := open(t)
		for _, c := range []struct {
			size uint64
			body string
		}{{5, "a"}, {3, "b"}, {5, "c"}, {9, "d"}} {
			if err := s.PutCheckpoint(ctx, c.size, []byte(c.body)); err != nil {
				t.Fatal(err)
			}
		}
		var got string
		s.Checkpoints(ctx, func(size uint64, b []byte) error { got += fmt.Sprintf("%d=%s ", size, b); return nil })
		if got != "3=b 5=a 9=d " {
			t.Fatalf("Checkpoints: %q", got)
		}
		if b, err := s.Checkpoint(ctx, 5); err != nil || string(b) != "a" {
			t.Fatalf("Checkpoint(5) = %q %v", b, err)
		}
		if b, err := s.Checkpoint(ctx, 4); err != nil || b != nil {
			t.Fatalf("Checkpoint(4) = %q %v", b, err)
		}
		if err := s.DeleteCheckpoints(ctx, []uint64{3, 9, 11}); err != nil {
			t.Fatal(err)
		}
		got = ""
		s.Checkpoints(ctx, func(size uint64, b []byte) error { got += fmt.Sprintf("%d=%s ", size, b); return nil })
		if got != "5=a " {
			t.Fatalf("after DeleteCheckpoints: %q", got)
		}
	})

	t.Run("pruning removes records, keeps the tree", func(t *testing.T) {
		s := open(t)
		appendN(t, s, 0, 40)
		if _, err := s.LogState(ctx); err != nil { // every record in the tree
			t.Fatal(err)
		}
		before, err := s.ReadHashes(indexes(int(tlog.StoredHashCount(40))))
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []uint64{10, 30, 40} {
			s.PutCheckpoint(ctx, size, []byte("x"))
		}
		if err := s.PruneRecords(ctx, 30, []byte("statement")); err != nil {
			t.Fatal(err)
		}
		if err := s.PruneRecords(ctx, 41, nil); err == nil {
			t.Fatal("pruned beyond the tree")
		}
		st, _ := s.LogState(ctx)
		if st.Pruned != 30 || st.Size != 40 || st.Records != 40 || string(st.PruneStatement) != "statement" {
			t.Fatalf("after pruning: %+v", st)
		}
		n := 0
		s.ScanRecords(ctx, store.RecordQuery{}, func(*ctxguard.Record) error { n++; return nil })
		if n != 10 {
			t.Fatalf("%d records left, want 10", n)
		}
		after, err := s.ReadHashes(indexes(len(before)))
		if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("the tree changed with pruning: %v", err)
		}
		var sizes []uint64
		s.Checkpoints(ctx, func(size uint64, _ []byte) error { sizes = append(sizes, size); return nil })
		if fmt.Sprint(sizes) != "[30 40]" {
			t.Fatalf("checkpoints kept after pruning through 30: %v, want the boundary and later", sizes)
		}
		if err := s.DeleteCheckpoints(ctx, []uint64{30}); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.Checkpoint(ctx, 30); b == nil {
			t.Fatal("the checkpoint anchoring the pruned records was deleted")
		}
		appendN(t, s, 40, 5) // the log goes on
		if st, _ := s.LogState(ctx); st.Size != 45 || st.Pruned != 30 {
			t.Fatalf("after more records: %+v", st)
		}
	})
}

type hashes []tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}

func indexes(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}
