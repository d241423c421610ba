package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/store"
)

// TestAnomalyState runs the conformance tests of store.AnomalyState. open
// returns a new, empty store for each subtest.
func TestAnomalyState(t *testing.T, open func(t *testing.T) store.AnomalyState) {
	ctx := context.Background()
	load := func(t *testing.T, s store.AnomalyState) (map[string]string, uint64) {
		t.Helper()
		got := map[string]string{}
		var keys []string
		cursor, err := s.LoadAnomalyState(ctx, func(k string, v []byte) error {
			got[k] = string(v)
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(keys); i++ {
			if keys[i-1] >= keys[i] {
				t.Fatalf("keys out of order: %q before %q", keys[i-1], keys[i])
			}
		}
		return got, cursor
	}

	t.Run("empty", func(t *testing.T) {
		got, cursor := load(t, open(t))
		if len(got) != 0 || cursor != 0 {
			t.Fatalf("a new store has %v at cursor %d", got, cursor)
		}
	})

	t.Run("save, update, delete", func(t *testing.T) {
		s := open(t)
		saved, err := s.SaveAnomalyState(ctx, 10, map[string][]byte{"b": []byte("2"), "a": []byte("1"), "c": []byte("3")})
		if err != nil || !saved {
			t.Fatalf("first save: %v %v", saved, err)
		}
		saved, err = s.SaveAnomalyState(ctx, 12, map[string][]byte{"a": []byte("1b"), "c": nil, "gone": nil})
		if err != nil || !saved {
			t.Fatalf("second save: %v %v", saved, err)
		}
		got, cursor := load(t, s)
		if fmt.Sprint(got) != "map[a:1b b:2]" || cursor != 12 {
			t.Fatalf("loaded %v at %d, want a=1b b=2 at 12 (saves merge; nil deletes)", got, cursor)
		}
	})

	t.Run("a snapshot never goes back", func(t *testing.T) {
		s := open(t)
		if _, err := s.SaveAnomalyState(ctx, 20, map[string][]byte{"a": []byte("new")}); err != nil {
			t.Fatal(err)
		}
		saved, err := s.SaveAnomalyState(ctx, 19, map[string][]byte{"a": []byte("old"), "b": []byte("old")})
		if err != nil || saved {
			t.Fatalf("save behind the stored cursor: saved=%v err=%v, want refused without error", saved, err)
		}
		saved, err = s.SaveAnomalyState(ctx, 20, map[string][]byte{"b": []byte("same")})
		if err != nil || !saved {
			t.Fatalf("save at the stored cursor: saved=%v err=%v, want stored", saved, err)
		}
		got, cursor := load(t, s)
		if fmt.Sprint(got) != "map[a:new b:same]" || cursor != 20 {
			t.Fatalf("loaded %v at %d", got, cursor)
		}
	})

	t.Run("the store's own keys are not entries", func(t *testing.T) {
		s := open(t)
		if _, err := s.SaveAnomalyState(ctx, 1, map[string][]byte{"": []byte("x"), "\x00cursor": []byte("xxxxxxxx"), "k": []byte("v")}); err != nil {
			t.Fatal(err)
		}
		got, cursor := load(t, s)
		if fmt.Sprint(got) != "map[k:v]" || cursor != 1 {
			t.Fatalf("loaded %q at %d", got, cursor)
		}
	})

	t.Run("concurrent saves keep the furthest", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := 1; i <= 16; i++ {
			wg.Go(func() {
				_, _ = s.SaveAnomalyState(ctx, uint64(i), map[string][]byte{"k": fmt.Appendf(nil, "%d", i)})
			})
		}
		wg.Wait()
		got, cursor := load(t, s)
		if cursor != 16 || got["k"] != "16" {
			t.Fatalf("after concurrent saves: k=%s at %d, want 16 at 16", got["k"], cursor)
		}
	})
}
