package bolt

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzWALRead feeds arbitrary bytes to the log reader, as a damaged disk
// or a foreign file would: it never panics, keeps only consecutive
// records, and the next append goes within what it read.
func FuzzWALRead(f *testing.F) {
	dir := f.TempDir()
	w, _, err := openWAL(filepath.Join(dir, "seed"), false)
	if err != nil {
		f.Fatal(err)
	}
	if err := w.append([]pending{{seq: 7, value: []byte(`{"a":1}`)}, {seq: 8, value: []byte(`{}`)}}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, "seed"))
	if err != nil {
		f.Fatal(err)
	}
	w.close()
	f.Add(seed[:w.size])
	f.Add(seed[:w.size-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "wal")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		w, recs, err := openWAL(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer w.close()
		for i := 1; i < len(recs); i++ {
			if recs[i].seq != recs[i-1].seq+1 {
				t.Fatalf("seq %d after %d", recs[i].seq, recs[i-1].seq)
			}
		}
		if w.size > max(int64(len(b)), fileHeader) {
			t.Fatalf("log end %d past the %d bytes", w.size, len(b))
		}
		// What was read is read again, after one more append.
		next := uint64(1)
		if len(recs) > 0 {
			next = recs[len(recs)-1].seq + 1
		}
		if err := w.append([]pending{{seq: next, value: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		w2, again, err := openWAL(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer w2.close()
		if len(again) != len(recs)+1 {
			t.Fatalf("%d records after one append to %d", len(again), len(recs))
		}
	})
}
