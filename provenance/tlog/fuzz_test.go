package tlog

import (
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// FuzzOpen feeds arbitrary bytes to the checkpoint reader: a checkpoint
// kept elsewhere is untrusted input. It must never panic, and whatever it
// accepts must be signed by the key and re-encode to the same body.
func FuzzOpen(f *testing.F) {
	skey, vkey, err := note.GenerateKey(nil, "ctxguard-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	good, _ := Checkpoint{Origin: "ctxguard-fuzz", Size: 42, Time: time.Unix(1e9, 0)}.Sign(s)
	f.Add(good)
	f.Add([]byte("ctxguard-fuzz\n42\nAAAA\ntime 2026-01-01T00:00:00Z\n\n— ctxguard-fuzz AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Open(b, v)
		if err != nil {
			return
		}
		if _, err := parseBody(c.body()); err != nil {
			t.Fatalf("accepted %q but its body does not parse again: %v", b, err)
		}
	})
}

func FuzzParseBody(f *testing.F) {
	f.Add(Checkpoint{Origin: "o", Size: 1, Time: time.Unix(0, 0)}.body())
	f.Add("o\n01\nAAAA\ntime x\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseBody(s)
		if err == nil && c.body() != s {
			t.Fatalf("accepted a non-canonical body %q", s)
		}
	})
}
