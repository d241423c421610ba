package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/store"
)

// TestBaselines runs the conformance tests of store.Baselines. open returns
// a new, empty store for each subtest.
func TestBaselines(t *testing.T, open func(t *testing.T) store.Baselines) {
	ctx := context.Background()
	d1, d2 := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))

	t.Run("manifest sequence only grows", func(t *testing.T) {
		s := open(t)
		if _, _, ok, err := s.AcceptedManifest(ctx, "kb"); ok || err != nil {
			t.Fatalf("fresh store: ok=%v err=%v", ok, err)
		}
		steps := []struct {
			seq    uint64
			digest [32]byte
			want   error
		}{
			{3, d1, nil},
			{3, d1, nil},                     // the same manifest again
			{3, d2, store.ErrSequenceReused}, // same number, other bytes
			{2, d2, store.ErrRollback},       // older
			{4, d2, nil},                     // newer
			{3, d1, store.ErrRollback},       // the once-accepted older one
		}
		for i, st := range steps {
			err := s.AcceptManifest(ctx, "kb", st.seq, st.digest)
			if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
				t.Fatalf("step %d: AcceptManifest(%d): %v, want %v", i, st.seq, err, st.want)
			}
		}
		seq, dg, ok, err := s.AcceptedManifest(ctx, "kb")
		if err != nil || !ok || seq != 4 || dg != d2 {
			t.Fatalf("AcceptedManifest = %d %x %v %v", seq, dg[:4], ok, err)
		}
		// Names are independent.
		if err := s.AcceptManifest(ctx, "other", 1, d1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("concurrent accepts keep the highest", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := 1; i <= 20; i++ {
			wg.Go(func() { _ = s.AcceptManifest(ctx, "kb", uint64(i), sha256.Sum256([]byte{byte(i)})) })
		}
		wg.Wait()
		seq, dg, _, err := s.AcceptedManifest(ctx, "kb")
		if err != nil || seq != 20 || dg != sha256.Sum256([]byte{20}) {
			t.Fatalf("after concurrent accepts: seq %d err %v", seq, err)
		}
	})

	t.Run("pins", func(t *testing.T) {
		s := open(t)
		k := store.PinKey{Server: "kb", Kind: "tool", Name: "search"}
		got, first, err := s.Pin(ctx, k, []byte("v1"))
		if err != nil || !first || string(got) != "v1" {
			t.Fatalf("first Pin = %q %v %v", got, first, err)
		}
		got, first, err = s.Pin(ctx, k, []byte("v2"))
		if err != nil || first || string(got) != "v1" {
			t.Fatalf("second Pin = %q %v %v, want the first definition kept", got, first, err)
		}
		other := store.PinKey{Server: "kb2", Kind: "tool", Name: "search"}
		if _, first, _ := s.Pin(ctx, other, []byte("w")); !first {
			t.Fatal("a pin of another server counted as the same")
		}
		prefixed := store.PinKey{Server: "kb", Kind: "tool", Name: "search2"}
		if _, first, _ := s.Pin(ctx, prefixed, []byte("x")); !first {
			t.Fatal("a tool whose name extends another's counted as the same")
		}
		var listed []store.PinKey
		err = s.Pins(ctx, "kb", func(p store.PinKey, def []byte) error { listed = append(listed, p); return nil })
		if err != nil || len(listed) != 2 || listed[0] != k || listed[1] != prefixed {
			t.Fatalf("Pins(kb) = %v, %v", listed, err)
		}
		listed = nil
		_ = s.Pins(ctx, "", func(p store.PinKey, def []byte) error { listed = append(listed, p); return nil })
		if len(listed) != 3 {
			t.Fatalf("Pins(all) = %v", listed)
		}
		if n, err := s.Unpin(ctx, k); n != 1 || err != nil {
			t.Fatalf("Unpin = %d %v", n, err)
		}
		if _, first, _ := s.Pin(ctx, k, []byte("v2")); !first {
			t.Fatal("after Unpin, the next definition was not pinned afresh")
		}
		if n, err := s.Unpin(ctx, store.PinKey{Server: "kb"}); n != 2 || err != nil {
			t.Fatalf("Unpin(server) = %d %v", n, err)
		}
		if n, _ := s.Unpin(ctx, store.PinKey{Server: "kb"}); n != 0 {
			t.Fatalf("Unpin of nothing removed %d", n)
		}
	})
}
