package manifest

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts is exactly its
// own canonical encoding.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/manifest.golden.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"format":"ctxguard-manifest/1","name":"k","sequence":1,"issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z","signer":"SHA256:x","uri_prefix":"","entries":[]}` + "\n"))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a parsed manifest: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted non-canonical bytes:\n%q\n%q", b, again)
		}
	})
}
