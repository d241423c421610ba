package httpproxy

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"testing/iotest"
)

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
