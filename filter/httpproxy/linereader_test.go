package httpproxy

import (
	"bufio"
	"errors"
	"io"
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
