package jsonrpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// next is what one call of Reader.Next should return: a frame, or an
// oversize frame of the given bytes.
type next struct {
	frame    string
	oversize string
}

func TestReader(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		input string
		max   int
		want  []next
	}{
		{
			name:  "lines",
			input: "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n",
			want:  []next{{frame: `{"id":1}`}, {frame: `{"id":2}`}, {frame: `{"id":3}`}},
		},
		{
			name:  "last line without newline",
			input: "{\"id\":1}\n{\"id\":2}",
			want:  []next{{frame: `{"id":1}`}, {frame: `{"id":2}`}},
		},
		{
			name:  "single line without newline",
			input: `{"id":1}`,
			want:  []next{{frame: `{"id":1}`}},
		},
		{
			name: "empty input",
		},
		{
			name:  "empty lines are empty frames",
			input: "\n\n{\"id\":1}\n\n",
			want:  []next{{frame: ""}, {frame: ""}, {frame: `{"id":1}`}, {frame: ""}},
		},
		{
			name:  "CRLF is kept as it is",
			input: "{\"id\":1}\r\n{\"id\":2}\r\n",
			want:  []next{{frame: "{\"id\":1}\r"}, {frame: "{\"id\":2}\r"}},
		},
		{
			name:  "a lone CR does not end a frame",
			input: "a\rb\n",
			want:  []next{{frame: "a\rb"}},
		},
		{
			name:  "a frame exactly at the limit",
			input: "12345\nab\n",
			max:   5,
			want:  []next{{frame: "12345"}, {frame: "ab"}},
		},
		{
			name:  "a last frame exactly at the limit",
			input: "12345",
			max:   5,
			want:  []next{{frame: "12345"}},
		},
		{
			name:  "limit+1 is oversize and the next frame reads",
			input: "123456\nok\n",
			max:   5,
			want:  []next{{oversize: "123456"}, {frame: "ok"}},
		},
		{
			name:  "a last frame of limit+1 without newline",
			input: "ab\n123456",
			max:   5,
			want:  []next{{frame: "ab"}, {oversize: "123456"}},
		},
		{
			name:  "the CR of CRLF counts towards the limit",
			input: "12345\r\n1234\r\n",
			max:   5,
			want:  []next{{oversize: "12345\r"}, {frame: "1234\r"}},
		},
		{
			name:  "oversize frames in a row",
			input: "123456\n1234567\n12\n12345678",
			max:   5,
			want:  []next{{oversize: "123456"}, {oversize: "1234567"}, {frame: "12"}, {oversize: "12345678"}},
		},
		{
			name:  "limit of one byte",
			input: "a\nbc\n\nd",
			max:   1,
			want:  []next{{frame: "a"}, {oversize: "bc"}, {frame: ""}, {frame: "d"}},
		},
		{
			name:  "frame of the buffer's size at a limit of the buffer's size",
			input: long(64<<10) + "\nok\n",
			max:   64 << 10,
			want:  []next{{frame: long(64 << 10)}, {frame: "ok"}},
		},
		{
			name:  "one byte over the buffer's size at a limit of the buffer's size",
			input: long(64<<10+1) + "\nok\n",
			max:   64 << 10,
			want:  []next{{oversize: long(64<<10 + 1)}, {frame: "ok"}},
		},
		{
			name:  "frames longer than the buffer under the limit",
			input: long(150_000) + "\n" + long(64<<10-1) + "\n" + long(200_000),
			max:   200_000,
			want:  []next{{frame: long(150_000)}, {frame: long(64<<10 - 1)}, {frame: long(200_000)}},
		},
		{
			name:  "large frames that shrink and grow again",
			input: long(1<<20) + "\n" + long(70_000) + "\n" + long(300_000) + "\n" + long(70_000) + "\n" + long(70_001) + "\nok\n",
			want:  []next{{frame: long(1 << 20)}, {frame: long(70_000)}, {frame: long(300_000)}, {frame: long(70_000)}, {frame: long(70_001)}, {frame: "ok"}},
		},
		{
			name:  "a frame longer than the buffer over the limit",
			input: long(200_001) + "\nok",
			max:   200_000,
			want:  []next{{oversize: long(200_001)}, {frame: "ok"}},
		},
		{
			name:  "an oversize frame whose head and tail differ",
			input: "HEAD" + long(10_000) + "TAIL\nok\n",
			max:   100,
			want:  []next{{oversize: "HEAD" + long(10_000) + "TAIL"}, {frame: "ok"}},
		},
		{
			name:  "zero limit means the default",
			input: long(1<<20) + "\n",
			max:   0,
			want:  []next{{frame: long(1 << 20)}},
		},
		{
			name:  "negative limit means the default",
			input: long(100) + "\n",
			max:   -1,
			want:  []next{{frame: long(100)}},
		},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"EOF with data", iotest.DataErrReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				r := NewReader(rd.wrap(strings.NewReader(tt.input)), tt.max)
				for i, w := range tt.want {
					frame, err := r.Next()
					if w.oversize != "" {
						checkOversize(t, err, []byte(w.oversize), tt.max)
						if frame != nil {
							t.Errorf("Next %d returned a frame with its OversizeError", i)
						}
						continue
					}
					if err != nil {
						t.Fatalf("Next %d: %v", i, err)
					}
					if string(frame) != w.frame {
						t.Errorf("Next %d = %q, want %q", i, abbrev(frame), abbrev([]byte(w.frame)))
					}
				}
				for range 2 {
					if frame, err := r.Next(); err != io.EOF {
						t.Fatalf("Next after the last frame = %q, %v; want io.EOF", abbrev(frame), err)
					}
				}
			})
		}
	}
}

// checkOversize asserts that err is an *OversizeError for frame.
func checkOversize(t testing.TB, err error, frame []byte, max int) {
	t.Helper()
	var e *OversizeError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *OversizeError", err)
	}
	if max <= 0 {
		max = DefaultMaxFrame
	}
	sum := sha256.Sum256(frame)
	head := frame[:min(len(frame), headSize)]
	tail := frame[len(frame)-min(len(frame), headSize):]
	switch {
	case e.Limit != max:
		t.Errorf("Limit = %d, want %d", e.Limit, max)
	case e.Size != int64(len(frame)):
		t.Errorf("Size = %d, want %d", e.Size, len(frame))
	case e.SHA256 != hex.EncodeToString(sum[:]):
		t.Errorf("SHA256 = %s, want the frame's %x", e.SHA256, sum)
	case !bytes.Equal(e.Head, head):
		t.Errorf("Head = %q, want %q", abbrev(e.Head), abbrev(head))
	case !bytes.Equal(e.Tail, tail):
		t.Errorf("Tail = %q, want %q", abbrev(e.Tail), abbrev(tail))
	}
	if msg := e.Error(); !strings.Contains(msg, "exceeds") {
		t.Errorf("Error() = %q", msg)
	}
}

func abbrev(b []byte) string {
	if len(b) <= 80 {
		return string(b)
	}
	return string(b[:40]) + "…" + string(b[len(b)-40:])
}

// TestReaderLargeFrameGarbage checks that a run of alike frames larger than
// the read buffer costs about one frame's worth of memory each, not a
// doubling slice's: the relay's garbage is what sets how often the
// collector interrupts it.
func TestReaderLargeFrameGarbage(t *testing.T) {
	const size, n = 70_000, 200
	line := strings.Repeat("x", size) + "\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(strings.Repeat(line, n))), 0)
	if _, err := r.Next(); err != nil { // the first one has no size to go by
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 1; i < n; i++ {
		frame, err := r.Next()
		if err != nil || len(frame) != size {
			t.Fatalf("Next %d: %d bytes, %v", i, len(frame), err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / (n - 1); per > size*5/4 {
		t.Errorf("%d bytes allocated per %d-byte frame, want at most %d", per, size, size*5/4)
	}
}

// TestReaderFramesAreOwned checks that a frame stays as it was after later
// calls of Next, and that changing it does not change later frames.
func TestReaderFramesAreOwned(t *testing.T) {
	r := NewReader(strings.NewReader("aaaa\nbbbb\n"+strings.Repeat("c", 70_000)+"\ndddd"), 0)
	var frames [][]byte
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
		for i := range f {
			f[i] = 'z' // the caller owns it
		}
	}
	if len(frames) != 4 {
		t.Fatalf("got %d frames, want 4", len(frames))
	}
	for i, f := range frames {
		if strings.Trim(string(f), "z") != "" {
			t.Errorf("frame %d changed after it was returned: %q", i, abbrev(f))
		}
	}
}

// TestReaderHugeLine reads a 20 MB line with a small limit: it must be
// reported with its size and checksum without being held in memory, and
// the next frame must still read.
func TestReaderHugeLine(t *testing.T) {
	const size = 20 << 20
	const limit = 1 << 10
	huge := &patternReader{n: size}
	r := NewReader(io.MultiReader(
		strings.NewReader("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"),
		huge,
		strings.NewReader("\n{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n"),
	), limit)

	frame, err := r.Next()
	if err != nil || string(frame) != `{"jsonrpc":"2.0","id":1,"result":{}}` {
		t.Fatalf("first frame = %q, %v", frame, err)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = r.Next()
	runtime.ReadMemStats(&after)

	var e *OversizeError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *OversizeError", err)
	}
	want := sha256.Sum256(huge.bytes())
	if e.Size != size || e.Limit != limit || e.SHA256 != hex.EncodeToString(want[:]) {
		t.Errorf("OversizeError{Size: %d, Limit: %d, SHA256: %s}, want {%d, %d, %x}", e.Size, e.Limit, e.SHA256, size, limit, want)
	}
	if !bytes.Equal(e.Head, huge.bytes()[:headSize]) || !bytes.Equal(e.Tail, huge.bytes()[size-headSize:]) {
		t.Errorf("Head or Tail are not the frame's first and last %d bytes", headSize)
	}
	// The test's own pattern is allocated before the measurement; reading
	// 20 MB must cost a small fraction of that.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("reading the oversize frame allocated %d bytes", alloc)
	}

	frame, err = r.Next()
	if err != nil || string(frame) != `{"jsonrpc":"2.0","id":3,"result":{}}` {
		t.Fatalf("frame after the oversize one = %q, %v", frame, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next at the end = %v, want io.EOF", err)
	}
}

// patternReader yields n bytes of a fixed pattern without holding them.
type patternReader struct {
	n, off int
	all    []byte
}

const pattern = `{"result":{"content":[{"type":"text","text":"0123456789abcdef"}]}},`

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(len(b), p.n-p.off)
	for i := range k {
		b[i] = pattern[(p.off+i)%len(pattern)]
	}
	p.off += k
	return k, nil
}

// bytes returns the whole pattern, for the test's expectations.
func (p *patternReader) bytes() []byte {
	if p.all == nil {
		p.all = make([]byte, p.n)
		for i := range p.all {
			p.all[i] = pattern[i%len(pattern)]
		}
	}
	return p.all
}

func TestReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		r      io.Reader
		max    int
		frames []string
	}{
		{
			name:   "error after a complete frame",
			r:      io.MultiReader(strings.NewReader("{\"id\":1}\n"), iotest.ErrReader(boom)),
			frames: []string{`{"id":1}`},
		},
		{
			name:   "error in the middle of a frame",
			r:      io.MultiReader(strings.NewReader("{\"id\":1}\n{\"id\""), iotest.ErrReader(boom)),
			frames: []string{`{"id":1}`},
		},
		{
			name: "error in the middle of an oversize frame",
			r:    io.MultiReader(strings.NewReader(strings.Repeat("x", 100)), iotest.ErrReader(boom)),
			max:  10,
		},
		{
			name: "error at once",
			r:    iotest.ErrReader(boom),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.r, tt.max)
			for _, want := range tt.frames {
				f, err := r.Next()
				if err != nil || string(f) != want {
					t.Fatalf("Next = %q, %v; want %q", f, err, want)
				}
			}
			if _, err := r.Next(); !errors.Is(err, boom) {
				t.Errorf("Next = %v, want the reader's error", err)
			}
		})
	}
}
