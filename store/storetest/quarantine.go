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

// TestQuarantine runs the conformance tests of store.Quarantine. open
// returns a new, empty store for each subtest.
func TestQuarantine(t *testing.T, open func(t *testing.T) store.Quarantine) {
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	item := func(i int, server string) *ctxguard.QuarantineItem {
		return &ctxguard.QuarantineItem{CreatedAt: base.Add(time.Duration(i) * time.Second), Server: server,
			URI: fmt.Sprintf("file:///kb/%d.md", i), SHA256: fmt.Sprintf("%064x", i), Score: 0.9, Content: "x"}
	}
	ids := func(t *testing.T, s store.Quarantine, q store.ItemQuery) []string {
		t.Helper()
		var out []string
		if err := s.Items(ctx, q, func(it *ctxguard.QuarantineItem) error { out = append(out, it.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}

	t.Run("hold, list newest first, page", func(t *testing.T) {
		s := open(t)
		var held []*ctxguard.QuarantineItem
		for i := range 600 {
			server := "a"
			if i%3 == 0 {
				server = "b"
			}
			held = append(held, item(i, server))
		}
		if err := s.Hold(ctx, held); err != nil {
			t.Fatal(err)
		}
		all := ids(t, s, store.ItemQuery{})
		if len(all) != 600 || all[0] != held[599].ID || all[599] != held[0].ID {
			t.Fatalf("listed %d, first %s (want %s)", len(all), all[0], held[599].ID)
		}
		page := ids(t, s, store.ItemQuery{Limit: 50, Before: all[49]})
		if len(page) != 50 || page[0] != all[50] || page[49] != all[99] {
			t.Fatalf("second page starts %v", page[:2])
		}
		if got := ids(t, s, store.ItemQuery{Server: "b"}); len(got) != 200 {
			t.Fatalf("server b: %d items", len(got))
		}
		pend := ids(t, s, store.ItemQuery{Status: ctxguard.StatusPending, Limit: 10, Before: all[10]})
		if len(pend) != 10 || pend[0] != all[11] {
			t.Fatalf("pending page: %v", pend)
		}
		it, err := s.Item(ctx, held[7].ID)
		if err != nil || it.URI != held[7].URI || it.Status != ctxguard.StatusPending {
			t.Fatalf("Item: %+v %v", it, err)
		}
		if _, err := s.Item(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Item(nope): %v", err)
		}
	})

	t.Run("review decides the content", func(t *testing.T) {
		s := open(t)
		a, b := item(1, "kb"), item(2, "kb")
		b.SHA256 = a.SHA256 // the same content under another URI
		if err := s.Hold(ctx, []*ctxguard.QuarantineItem{a, b}); err != nil {
			t.Fatal(err)
		}
		check := func(uri string, want ctxguard.QuarantineStatus) {
			t.Helper()
			st, _, err := s.ContentDecision(ctx, a.SHA256, uri)
			if err != nil || st != want {
				t.Fatalf("ContentDecision(%s) = %q %v, want %q", uri, st, err, want)
			}
		}
		check(a.URI, "")
		it, err := s.Review(ctx, a.ID, ctxguard.ReviewAction{Action: "release", Reviewer: "rita", Note: "vendor docs"})
		if err != nil || it.Status != ctxguard.StatusReleased || len(it.History) != 1 || it.History[0].Reviewer != "rita" || it.History[0].Scope != "uri" {
			t.Fatalf("release: %+v %v", it, err)
		}
		check(a.URI, ctxguard.StatusReleased)
		check(b.URI, "")
		if _, err := s.Review(ctx, a.ID, ctxguard.ReviewAction{Action: "release", Scope: "global", Reviewer: "rita"}); err != nil {
			t.Fatal(err)
		}
		check(b.URI, ctxguard.StatusReleased)
		it, err = s.Review(ctx, b.ID, ctxguard.ReviewAction{Action: "reject", Reviewer: "sam"})
		if err != nil || it.Status != ctxguard.StatusRejected {
			t.Fatalf("reject: %+v %v", it, err)
		}
		check(a.URI, ctxguard.StatusRejected)
		check("file:///elsewhere", ctxguard.StatusRejected)
		rej, _, err := s.RejectedContent(ctx)
		if err != nil || rej[a.SHA256] != b.ID {
			t.Fatalf("RejectedContent = %v %v", rej, err)
		}
		if got := ids(t, s, store.ItemQuery{Status: ctxguard.StatusReleased}); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("released: %v", got)
		}
		if got := ids(t, s, store.ItemQuery{Status: ctxguard.StatusPending}); len(got) != 0 {
			t.Fatalf("pending after review: %v", got)
		}
		if _, err := s.Review(ctx, a.ID, ctxguard.ReviewAction{Action: "delete"}); !errors.Is(err, store.ErrBadAction) {
			t.Fatalf("bad action: %v", err)
		}
		if _, err := s.Review(ctx, "nope", ctxguard.ReviewAction{Action: "reject"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})

	t.Run("changes", func(t *testing.T) {
		s := open(t)
		a, b := item(1, "kb"), item(2, "kb")
		s.Hold(ctx, []*ctxguard.QuarantineItem{a})
		var seen []string
		cur, err := s.Changes(ctx, 0, func(c uint64, it *ctxguard.QuarantineItem) error {
			seen = append(seen, it.ID+":"+string(it.Status))
			return nil
		})
		if err != nil || len(seen) != 1 {
			t.Fatalf("Changes: %v %v", seen, err)
		}
		s.Hold(ctx, []*ctxguard.QuarantineItem{b})
		s.Review(ctx, a.ID, ctxguard.ReviewAction{Action: "reject"})
		seen = nil
		cur2, _ := s.Changes(ctx, cur, func(c uint64, it *ctxguard.QuarantineItem) error {
			seen = append(seen, it.ID+":"+string(it.Status))
			return nil
		})
		if len(seen) != 2 || seen[0] != b.ID+":pending" || seen[1] != a.ID+":rejected" || cur2 <= cur {
			t.Fatalf("Changes after %d: %v (cursor %d)", cur, seen, cur2)
		}
	})

	t.Run("concurrent holds and reviews lose nothing", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var all []string
		for w := range 4 {
			wg.Go(func() {
				for i := range 25 {
					it := item(w*100+i, "kb")
					if err := s.Hold(ctx, []*ctxguard.QuarantineItem{it}); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					all = append(all, it.ID)
					mu.Unlock()
					if i%2 == 0 {
						if _, err := s.Review(ctx, it.ID, ctxguard.ReviewAction{Action: "release"}); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		listed := ids(t, s, store.ItemQuery{})
		seen := map[string]bool{}
		for _, id := range listed {
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		if len(listed) != len(all) {
			t.Fatalf("listed %d of %d held", len(listed), len(all))
		}
		rel := ids(t, s, store.ItemQuery{Status: ctxguard.StatusReleased})
		pend := ids(t, s, store.ItemQuery{Status: ctxguard.StatusPending})
		if len(rel) != 52 || len(pend) != 48 {
			t.Fatalf("%d released, %d pending; want 52 and 48", len(rel), len(pend))
		}
		for st, want := range map[ctxguard.QuarantineStatus]int{"": 100, ctxguard.StatusPending: 48, ctxguard.StatusReleased: 52, ctxguard.StatusRejected: 0} {
			if n, err := s.Count(ctx, st); err != nil || n != want {
				t.Fatalf("Count(%q) = %d %v, want %d", st, n, err, want)
			}
		}
	})
}
