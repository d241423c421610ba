package bolt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
	"github.com/ctxguard/ctxguard/store/storetest"
)

func TestAnomalyStateConformance(t *testing.T) {
	storetest.TestAnomalyState(t, func(t *testing.T) store.AnomalyState {
		db, err := bolt.Open(t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// The snapshot is in the file: another process (here, another handle on
// the same directory) and a later one see it.
func TestAnomalyStateAcrossHandles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveAnomalyState(ctx, 5, map[string][]byte{"k": []byte("from a")}); err != nil {
		t.Fatal(err)
	}
	if saved, err := b.SaveAnomalyState(ctx, 4, map[string][]byte{"k": []byte("stale b")}); saved || err != nil {
		t.Fatalf("b saved behind a: %v %v", saved, err)
	}
	a.Close()
	b.Close()
	if _, err := b.SaveAnomalyState(ctx, 9, nil); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("save after Close: %v, want store.ErrClosed", err)
	}
	c, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got string
	cursor, err := c.LoadAnomalyState(ctx, func(k string, v []byte) error { got = k + "=" + string(v); return nil })
	if err != nil || cursor != 5 || got != "k=from a" {
		t.Fatalf("reopened: %q at %d, %v", got, cursor, err)
	}
}
