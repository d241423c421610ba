package tlog

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Many processes starting at once on a fresh data directory (an IDE
// starting its MCP servers) all end up with the one key, whole, with a
// matching public copy.
func TestKeyCreationRace(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "audit.key")
		var wg sync.WaitGroup
		keys := make([]*Key, 8)
		errs := make([]error, 8)
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(path, KeyName("race")) })
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
			}
			if keys[i].Public != keys[0].Public {
				t.Fatalf("round %d: racers hold different keys", round)
			}
		}
		pub, err := os.ReadFile(PublicPath(path))
		if err != nil || string(pub) != keys[0].Public+"\n" {
			t.Fatalf("round %d: public copy %q, %v", round, pub, err)
		}
		k, err := LoadOrCreateKey(path, KeyName("race"))
		if err != nil || k.Public != keys[0].Public {
			t.Fatalf("round %d: reload: %v", round, err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("key mode %v", fi.Mode())
		}
	}
}

// A missing or stale public copy is written again from the key.
func TestKeyPublicCopyRepaired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.key")
	k, err := LoadOrCreateKey(path, KeyName("x"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(PublicPath(path), []byte("someone+else+key\n"), 0o644)
	if k2, err := LoadOrCreateKey(path, KeyName("x")); err != nil || k2.Public != k.Public {
		t.Fatalf("%v", err)
	}
	if b, _ := os.ReadFile(PublicPath(path)); string(b) != k.Public+"\n" {
		t.Fatalf("public copy not repaired: %q", b)
	}
}
