package httpproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// The lines of an event stream, whatever ends them (LF, CR, CRLF) and
// however the bytes arrive: all at once, a byte at a time, or lines longer
// than the read buffer; a line over the limit is an error.
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		name, in string
		want     []string
		max      int64
		err      bool
	}{
		{name: "LF", in: "event: message\ndata: {}\n\n", want: []string{"event: message", "data: {}", ""}},
		{name: "CRLF", in: "event: message\r\ndata: {}\r\n\r\n", want: []string{"event: message", "data: {}", ""}},
		{name: "CR", in: "event: message\rdata: {}\r\r", want: []string{"event: message", "data: {}", ""}},
		{name: "mixed", in: "a\r\nb\rc\n\r\n", want: []string{"a", "b", "c", ""}},
		{name: "CR then LF is one end, CR CR two", in: "a\r\r\nb\n", want: []string{"a", "", "b"}},
		{name: "longer than the buffer", in: "data: " + long + "\r\n" + long + "\n", want: []string{"data: " + long, long}},
		{name: "no end: not a line", in: "a\nb", want: []string{"a"}},
		{name: "over the limit", in: "data: " + long + "\n", max: 50, err: true},
		{name: "at the limit", in: long + "\n", max: 100, want: []string{long}},
	} {
		for _, way := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"bytewise", iotest.OneByteReader}, {"halves", iotest.HalfReader}} {
			t.Run(tc.name+"/"+way.name, func(t *testing.T) {
				max := tc.max
				if max == 0 {
					max = 1 << 20
				}
				lr := &lineReader{rd: bufio.NewReaderSize(way.r(strings.NewReader(tc.in)), 16), max: max}
				var got []string
				var kept [][]byte // the lines the caller owns: later reads leave them be
				var keptCopy []string
				for {
					line, owned, err := lr.next()
					if err != nil {
						if tc.err != !errors.Is(err, io.EOF) {
							t.Fatalf("error %v after %q", err, got)
						}
						break
					}
					if owned {
						kept = append(kept, line)
						keptCopy = append(keptCopy, string(line))
					}
					got = append(got, string(line))
				}
				if !tc.err && strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				for i, l := range kept {
					if string(l) != keptCopy[i] {
						t.Fatalf("an owned line changed after later reads: %q, was %q", l, keptCopy[i])
					}
				}
			})
		}
	}
}

// FuzzLineReader reads an upstream's event stream (untrusted bytes) with
// a tiny buffer, so that long lines take the scratch path, and checks the
// lines against the SSE definition read naively: lines end at CRLF, LF or
// CR; a last line without an end is not a line; a line over the limit is
// an error, and lines the caller owns stay as they were.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("event: message\r\ndata: {}\r\n\r\n"), uint8(4), uint8(0))
	f.Add([]byte("a\r\r\nb\rc\n\nlonger line than the buffer\n"), uint8(3), uint8(20))
	f.Fuzz(func(t *testing.T, in []byte, bufSize, limit uint8) {
		max := int64(limit)
		if max == 0 {
			max = 1 << 20
		}
		var want []string
		tooLong := false
		for rest := string(in); ; {
			i := strings.IndexAny(rest, "\r\n")
			if i < 0 {
				// Not ended: not a line, but one over the limit is
				// refused before its end is seen.
				tooLong = int64(len(rest)) > max
				break
			}
			if int64(i) > max {
				tooLong = true
				break
			}
			want = append(want, rest[:i])
			if rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n' {
				i++
			}
			rest = rest[i+1:]
		}
		lr := &lineReader{rd: bufio.NewReaderSize(bytes.NewReader(in), 16+int(bufSize)%32), max: max}
		var got []string
		var kept [][]byte
		var keptCopy []string
		for {
			line, owned, err := lr.next()
			if err != nil {
				if tooLong != errors.Is(err, errLineTooLong) {
					t.Fatalf("error %v after %q; want the line-too-long error: %v", err, got, tooLong)
				}
				if !tooLong && !errors.Is(err, io.EOF) {
					t.Fatalf("error %v after %q", err, got)
				}
				break
			}
			if owned {
				kept, keptCopy = append(kept, line), append(keptCopy, string(line))
			}
			got = append(got, string(line))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("lines %q, want %q", got, want)
		}
		for i, l := range kept {
			if string(l) != keptCopy[i] {
				t.Fatalf("an owned line changed after later reads: %q, was %q", l, keptCopy[i])
			}
		}
	})
}
