// Package storetest is the conformance suite for the store interfaces: every
// implementation runs it from its own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// TestRecords runs the conformance tests of store.Records. open returns a
// new, empty store for each subtest.
func TestRecords(t *testing.T, open func(t *testing.T) store.Records) {
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	rec := func(i int) *ctxguard.Record {
		return &ctxguard.Record{
			Time:   base.Add(time.Duration(i) * time.Second),
			Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "s1", Message: "response", Method: "resources/read", URI: fmt.Sprintf("file:///kb/%d.md", i), RequestID: []byte(fmt.Sprint(i))},
			Path:   "/result/contents/0/text", Kind: ctxguard.KindText, Size: int64(i),
			SHA256: fmt.Sprintf("%064x", i), XXHash64: fmt.Sprintf("%016x", i),
		}
	}
	appendN := func(t *testing.T, s store.Records, n int) []*ctxguard.Record {
		t.Helper()
		recs := make([]*ctxguard.Record, n)
		for i := range recs {
			recs[i] = rec(i)
		}
		if err := s.AppendRecords(ctx, recs); err != nil {
			t.Fatalf("AppendRecords: %v", err)
		}
		return recs
	}
	scan := func(t *testing.T, s store.Records, q store.RecordQuery) []*ctxguard.Record {
		t.Helper()
		var out []*ctxguard.Record
		if err := s.ScanRecords(ctx, q, func(r *ctxguard.Record) error { out = append(out, r); return nil }); err != nil {
			t.Fatalf("ScanRecords(%+v): %v", q, err)
		}
		return out
	}

	t.Run("append assigns increasing seqs and scan returns the records", func(t *testing.T) {
		s := open(t)
		recs := appendN(t, s, 5)
		for i := 1; i < len(recs); i++ {
			if recs[i].Seq != recs[i-1].Seq+1 {
				t.Fatalf("seqs not consecutive: %d then %d", recs[i-1].Seq, recs[i].Seq)
			}
		}
		got := scan(t, s, store.RecordQuery{})
		if len(got) != 5 {
			t.Fatalf("scanned %d records, want 5", len(got))
		}
		for i, r := range got {
			want := recs[i]
			if r.Seq != want.Seq || r.URI != want.URI || r.SHA256 != want.SHA256 || !r.Time.Equal(want.Time) || string(r.RequestID) != string(want.RequestID) || r.Kind != want.Kind {
				t.Errorf("record %d = %+v, want %+v", i, r, want)
			}
		}
	})

	t.Run("queries select by seq, time, last and limit", func(t *testing.T) {
		s := open(t)
		recs := appendN(t, s, 10)
		tests := []struct {
			name string
			q    store.RecordQuery
			want []int // indexes into recs
		}{
			{"after seq", store.RecordQuery{AfterSeq: recs[6].Seq}, []int{7, 8, 9}},
			{"since", store.RecordQuery{Since: base.Add(8 * time.Second)}, []int{8, 9}},
			{"until", store.RecordQuery{Until: base.Add(2 * time.Second)}, []int{0, 1}},
			{"since and until", store.RecordQuery{Since: base.Add(3 * time.Second), Until: base.Add(5 * time.Second)}, []int{3, 4}},
			{"last", store.RecordQuery{Last: 3}, []int{7, 8, 9}},
			{"last more than there are", store.RecordQuery{Last: 50}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
			{"limit", store.RecordQuery{Limit: 2}, []int{0, 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := scan(t, s, tt.q)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d records, want %d", len(got), len(tt.want))
				}
				for i, w := range tt.want {
					if got[i].Seq != recs[w].Seq {
						t.Errorf("record %d: seq %d, want %d", i, got[i].Seq, recs[w].Seq)
					}
				}
			})
		}
	})

	t.Run("a long scan crosses read chunks in order", func(t *testing.T) {
		s := open(t)
		appendN(t, s, 5000)
		var last uint64
		n := 0
		err := s.ScanRecords(ctx, store.RecordQuery{}, func(r *ctxguard.Record) error {
			if r.Seq <= last {
				return fmt.Errorf("seq %d after %d", r.Seq, last)
			}
			last = r.Seq
			n++
			return nil
		})
		if err != nil || n != 5000 {
			t.Fatalf("scan: %d records, err %v", n, err)
		}
	})

	t.Run("an error from fn stops the scan", func(t *testing.T) {
		s := open(t)
		appendN(t, s, 10)
		stop := errors.New("stop")
		n := 0
		err := s.ScanRecords(ctx, store.RecordQuery{}, func(*ctxguard.Record) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("got n=%d err=%v, want 1 and the fn's error", n, err)
		}
	})

	t.Run("concurrent appends lose and duplicate nothing", func(t *testing.T) {
		s := open(t)
		const writers, each = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					r := rec(w*each + i)
					if err := s.AppendRecords(ctx, []*ctxguard.Record{r}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		seqs := map[uint64]bool{}
		for _, r := range scan(t, s, store.RecordQuery{}) {
			if seen[r.URI] || seqs[r.Seq] {
				t.Fatalf("duplicate record %s seq %d", r.URI, r.Seq)
			}
			seen[r.URI], seqs[r.Seq] = true, true
		}
		if len(seen) != writers*each {
			t.Fatalf("stored %d records, want %d", len(seen), writers*each)
		}
	})
}
