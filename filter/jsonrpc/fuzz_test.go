package jsonrpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ctxguard/ctxguard/filter/jsontree/jsontreetest"
)

// readFrames returns the lines of testdata/frames.jsonl, the seed corpus of
// the fuzz targets: one frame per line, as a stdio transport carries them.
func readFrames(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/frames.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.Split(b, []byte("\n"))
}

// FuzzParse checks that Parse never panics, that every span it returns lies
// in the frame, that it accepts every JSON object and array encoding/json
// accepts, with spans that agree with encoding/json's reading, and that
// what else it accepts differs from JSON only inside strings.
func FuzzParse(f *testing.F) {
	for _, frame := range readFrames(f) {
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		parsed, err := Parse(frame)
		valid := json.Valid(frame)
		if err != nil {
			if !errors.Is(err, ErrNotJSONRPC) {
				t.Fatalf("error %v does not wrap ErrNotJSONRPC", err)
			}
			if valid && startsContainer(frame) && !deep(frame) {
				t.Fatalf("Parse rejected valid JSON %q: %v", frame, err)
			}
			return
		}
		if !valid {
			// Parse checks strings only where they end; anything else
			// must be JSON.
			if !jsontreetest.ValidOutsideStrings(frame) {
				t.Fatalf("Parse accepted %q, which is not JSON outside its strings either", frame)
			}
			checkSpans(t, frame, parsed)
			return
		}
		checkSpans(t, frame, parsed)
		checkAgainstEncodingJSON(t, frame, parsed)
	})
}

// deep reports whether a frame nests deeper than the decoders' limits, on
// which encoding/json and jsontext need not agree.
func deep(frame []byte) bool {
	return bytes.Count(frame, []byte("["))+bytes.Count(frame, []byte("{")) > 5000
}

// FuzzReader checks Reader against a plain split of the input on newlines:
// every line comes back as a frame, or, when it is over the limit, as an
// *OversizeError describing exactly that line, and the input can be put
// back together from the frames.
func FuzzReader(f *testing.F) {
	// Seeds stay small: the fuzzer minimises every input it finds
	// interesting, which takes it minutes for inputs of kilobytes.
	// TestReader covers frames around the buffer's size.
	frames := readFrames(f)
	for i := 0; i+1 < len(frames); i += 2 {
		in := append(append(append([]byte{}, frames[i]...), '\n'), frames[i+1]...)
		f.Add(in, uint16(len(frames[i])), i%4 == 0)
	}
	f.Add([]byte("a\nbc\r\n\n\nd"), uint16(1), false)
	f.Add([]byte("12345\n123456\n"), uint16(5), true)
	f.Fuzz(func(t *testing.T, input []byte, limit uint16, oneByte bool) {
		// A read buffer of a few bytes, so that short inputs take the
		// path of frames larger than it too.
		bufSize := 1 + int(limit)%13
		max := int(limit)
		if max == 0 {
			max = DefaultMaxFrame
		}
		var src io.Reader = bytes.NewReader(input)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		r := newReaderSize(src, int(limit), bufSize)

		lines := bytes.Split(input, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1] // input ends with a newline, or is empty
		}
		var frames [][]byte
		oversize := false
		for i, line := range lines {
			frame, err := r.Next()
			if len(line) > max {
				oversize = true
				checkOversize(t, err, line, max)
				continue
			}
			if err != nil {
				t.Fatalf("line %d: Next = %v", i, err)
			}
			if !bytes.Equal(frame, line) {
				t.Fatalf("line %d: Next = %q, want %q", i, frame, line)
			}
			frames = append(frames, frame)
		}
		if frame, err := r.Next(); err != io.EOF {
			t.Fatalf("Next after %d lines = %q, %v; want io.EOF", len(lines), frame, err)
		}
		if oversize {
			return
		}
		back := bytes.Join(frames, []byte("\n"))
		if bytes.HasSuffix(input, []byte("\n")) {
			back = append(back, '\n')
		}
		if !bytes.Equal(back, input) {
			t.Fatalf("frames and newlines make %q, input was %q", back, input)
		}
	})
}

// FuzzIDKey checks that IDKey never panics, keys only valid JSON strings
// and numbers, keys every valid one (but strings with invalid UTF-8), and
// gives every respelling of a value the same key.
func FuzzIDKey(f *testing.F) {
	for _, frame := range readFrames(f) {
		parsed, err := Parse(frame)
		if err != nil {
			continue
		}
		for _, m := range parsed.Messages {
			if m.ID.Present() {
				f.Add(m.ID.Of(frame))
			}
		}
	}
	for _, s := range []string{`0`, `-0.0`, `1e400`, `9007199254740993`, `"\u0031"`, `"\ud800"`, `1.2.3`, `01`, `"a\"b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		key, ok := IDKey(raw)
		if !ok {
			if key != "" {
				t.Errorf("IDKey(%q) = %q with ok false", raw, key)
			}
			isNumber := len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
			if isNumber && jsontext.Value(raw).IsValid() && isDigit(raw[len(raw)-1]) {
				t.Errorf("IDKey(%q) rejected a valid number", raw)
			}
			if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' && jsontext.Value(raw).IsValid() {
				t.Errorf("IDKey(%q) rejected a valid string", raw)
			}
			return
		}
		if !jsontreetest.ValidOutsideStrings(raw) || (raw[0] != '"' && !json.Valid(raw)) {
			t.Fatalf("IDKey(%q) = %q, true for what is not one JSON value", raw, key)
		}
		var v any
		if raw[0] == '"' && !json.Valid(raw) {
			return // a string with a raw control character: the client's to refuse
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			// encoding/json refuses numbers out of float64's range.
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) || te.Value != "number "+string(raw) {
				t.Fatalf("IDKey(%q) = %q, true; encoding/json: %v", raw, key, err)
			}
			return
		}
		var respellings [][]byte
		switch v := v.(type) {
		case string:
			if key[0] != 's' {
				t.Fatalf("IDKey(%q) = %q: a string keyed as something else", raw, key)
			}
			quoted, _ := jsontext.AppendQuote(nil, v)
			respellings = append(respellings, quoted, escapeAll(v))
		case float64:
			if key[0] != 'n' {
				t.Fatalf("IDKey(%q) = %q: a number keyed as something else", raw, key)
			}
			if math.IsInf(v, 0) {
				return
			}
			for _, format := range []byte{'g', 'e', 'E', 'f'} {
				respellings = append(respellings, strconv.AppendFloat(nil, v, format, -1, 64))
			}
			if v == math.Trunc(v) && math.Abs(v) < 1e300 {
				respellings = append(respellings, strconv.AppendFloat(nil, v, 'f', 1, 64)) // 1.0
			}
		default:
			t.Fatalf("IDKey(%q) = %q, true for a %T", raw, key, v)
		}
		for _, r := range respellings {
			if !utf8.Valid(r) {
				continue
			}
			if k, ok := IDKey(r); !ok || k != key {
				t.Errorf("IDKey(%s) = %q, %v; but IDKey(%s) = %q", r, k, ok, raw, key)
			}
		}
	})
}

// escapeAll spells a string as a JSON string of \u escapes only.
func escapeAll(s string) []byte {
	b := []byte{'"'}
	for _, r := range s {
		for _, u := range utf16.Encode([]rune{r}) {
			b = fmt.Appendf(b, `\u%04x`, u)
		}
	}
	return append(b, '"')
}

// TestOversizeErrorAs checks the error can be told apart from others by
// callers that only have an error.
func TestOversizeErrorAs(t *testing.T) {
	_, err := NewReader(strings.NewReader("123456\n"), 5).Next()
	var e *OversizeError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	sum := sha256.Sum256([]byte("123456"))
	if e.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 = %s", e.SHA256)
	}
	if got, want := e.Error(), "message of 6 bytes exceeds the 5-byte limit"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
