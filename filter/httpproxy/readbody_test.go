package httpproxy

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"testing"
	"testing/iotest"
)

// raceEnabled is set by race_test.go.
var raceEnabled bool

// widest records the largest buffer a reader is asked to fill.
type widest struct {
	r   io.Reader
	max int
}

func (w *widest) Read(p []byte) (int, error) {
	w.max = max(w.max, len(p))
	return w.r.Read(p)
}

// An upstream's Content-Length is a claim, not memory to commit: a
// response that announces the size limit and sends a few bytes is never
// given a buffer of more than 1 MiB (each open request would otherwise
// hold the limit), and fails as short. Bodies longer than that, as
// announced, are read whole however the bytes arrive.
func TestReadBodyPreallocation(t *testing.T) {
	const limit = 64 << 20
	w := &widest{r: bytes.NewReader([]byte(`{"jsonrpc":"2.0","id":1,"res`))}
	if _, err := readBody(&http.Response{ContentLength: limit, Body: io.NopCloser(w)}, limit); err == nil {
		t.Fatal("a body shorter than its Content-Length was read")
	}
	if w.max > maxPrealloc {
		t.Fatalf("a buffer of %d bytes for a body that sent 28", w.max)
	}
	for _, n := range []int{0, 1, 1000, maxPrealloc, maxPrealloc + 1, 3*maxPrealloc + 17} {
		src := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		for _, r := range []io.Reader{bytes.NewReader(src), iotest.HalfReader(bytes.NewReader(src))} {
			b, err := readBody(&http.Response{ContentLength: int64(n), Body: io.NopCloser(r)}, limit)
			if err != nil || !bytes.Equal(b, src) {
				t.Fatalf("a body of %d bytes: %d bytes read, %v", n, len(b), err)
			}
		}
	}
}

// A body without a length is read whole or cut at the limit, and costs
// about its own size in garbage once the scratch buffer is warm, whatever
// the chunks it arrives in.
func TestReadBodyUnsized(t *testing.T) {
	const limit = 1 << 20
	for _, n := range []int{0, 1, 511, 512, 16 << 10, limit, limit + 1, limit + 5000} {
		src := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		for _, r := range []io.Reader{bytes.NewReader(src), iotest.HalfReader(bytes.NewReader(src)), iotest.OneByteReader(bytes.NewReader(src))} {
			b, err := readBody(&http.Response{ContentLength: -1, Body: io.NopCloser(r)}, limit)
			want := src[:min(n, limit+1)] // one byte over tells the caller
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("a body of %d bytes: %d bytes read, %v", n, len(b), err)
			}
		}
	}
	if raceEnabled {
		return // see race_test.go
	}
	src := bytes.Repeat([]byte("x"), 16<<10)
	read := func() {
		if _, err := readBody(&http.Response{ContentLength: -1, Body: io.NopCloser(bytes.NewReader(src))}, limit); err != nil {
			t.Fatal(err)
		}
	}
	read()
	var before, after runtime.MemStats
	runtime.GC() // the pool survives one collection; the measurement is short
	read()
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		read()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > uint64(len(src))*5/4 {
		t.Errorf("%d bytes allocated per %d-byte body, want at most %d", per, len(src), len(src)*5/4)
	}
}
