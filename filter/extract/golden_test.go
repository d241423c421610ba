package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/filter/jsontree/jsontreetest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from what the extractors return")

// testMessage is one file of testdata/messages (see testdata/README.md).
type testMessage struct {
	name   string // file name without .json
	method string
	frame  []byte // the message exactly as the file holds it
}

func loadMessages(t testing.TB) []testMessage {
	t.Helper()
	files, err := filepath.Glob("testdata/messages/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test messages: %v", err)
	}
	var out []testMessage
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Method  string          `json:"method"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if w.Method == "" || len(w.Message) == 0 {
			t.Fatalf("%s: want {\"method\": …, \"message\": …}", file)
		}
		out = append(out, testMessage{
			name:   strings.TrimSuffix(filepath.Base(file), ".json"),
			method: w.Method,
			frame:  w.Message,
		})
	}
	return out
}

// TestGolden extracts the items of every message in testdata/messages and
// compares them with testdata/golden. Run with -update to rewrite the
// golden files, then review the diff.
func TestGolden(t *testing.T) {
	for _, tm := range loadMessages(t) {
		t.Run(tm.name, func(t *testing.T) {
			f, err := jsonrpc.Parse(tm.frame)
			if err != nil {
				t.Fatalf("jsonrpc.Parse: %v", err)
			}
			if len(f.Messages) != 1 || f.Messages[0].Ambiguous {
				t.Fatalf("want one unambiguous message, got %+v", f.Messages)
			}
			m := f.Messages[0]
			if m.Kind != jsonrpc.Response && m.Method != tm.method {
				t.Fatalf("the file says method %q, the %v says %q", tm.method, m.Kind, m.Method)
			}
			items, err := Message(tm.frame, m, tm.method)
			checkItems(t, tm.frame, m, items)

			got := render(tm, m, items, err)
			file := filepath.Join("testdata", "golden", tm.name+".golden")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./filter/extract -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("items differ from %s (run with -update and review the diff)\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}

// TestGoldenFilesHaveMessages catches a golden file left behind by a
// renamed or deleted message.
func TestGoldenFilesHaveMessages(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/golden/*.golden")
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".golden")
		if _, err := os.Stat(filepath.Join("testdata", "messages", name+".json")); err != nil {
			t.Errorf("%s has no message: %v", g, err)
		}
	}
}

// render writes the items in the golden format: one block per item, each
// field on its own line, the item's JSON value as it is in the frame, and
// the decoded content after "| " (or base64, for binary content).
func render(tm testMessage, m jsonrpc.Message, items []ctxguard.Item, err error) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: %s %s\n", tm.name, m.Kind, tm.method)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	fmt.Fprintf(&b, "items: %d\n", len(items))
	for i, it := range items {
		fmt.Fprintf(&b, "\n[%d] kind: %s\n", i, it.Kind)
		fmt.Fprintf(&b, "    path: %s\n", it.Path)
		for _, f := range []struct{ name, v string }{
			{"uri", it.URI}, {"name", it.Name}, {"mimeType", it.MIMEType}, {"note", it.Note},
		} {
			if f.v != "" {
				fmt.Fprintf(&b, "    %s: %s\n", f.name, f.v)
			}
		}
		fmt.Fprintf(&b, "    binary: %v\n", it.Binary)
		fmt.Fprintf(&b, "    span: [%d,%d)\n", it.Start, it.End)
		b.WriteString("    value: ")
		writeIndented(&b, tm.frame[it.Start:it.End], "           ")
		sum := sha256.Sum256(it.Content)
		fmt.Fprintf(&b, "    content: %d bytes, sha256 %x\n", len(it.Content), sum[:8])
		switch {
		case it.Binary:
			fmt.Fprintf(&b, "    base64: %s\n", base64.StdEncoding.EncodeToString(it.Content))
		case !utf8.Valid(it.Content):
			fmt.Fprintf(&b, "    quoted: %s\n", strconv.Quote(string(it.Content)))
		default:
			for _, line := range strings.Split(string(it.Content), "\n") {
				fmt.Fprintf(&b, "    | %s\n", line)
			}
		}
	}
	return b.Bytes()
}

// writeIndented writes a raw JSON value, continuing its lines under indent.
// Bytes that are not UTF-8 are written as \xNN, so that the golden files
// stay text.
func writeIndented(b *bytes.Buffer, v []byte, indent string) {
	lines := bytes.Split(v, []byte("\n"))
	for i, l := range lines {
		if i > 0 {
			b.WriteString(indent)
		}
		l = bytes.TrimRight(l, "\r")
		for len(l) > 0 {
			r, n := utf8.DecodeRune(l)
			if r == utf8.RuneError && n == 1 {
				fmt.Fprintf(b, `\x%02x`, l[0])
			} else {
				b.Write(l[:n])
			}
			l = l[n:]
		}
		b.WriteByte('\n')
	}
}

// checkItems asserts what holds for every item of every message: its span
// lies in the member it was read from, it is one JSON value, and it is a
// value its path points at (one of them, when names repeat).
func checkItems(t testing.TB, frame []byte, m jsonrpc.Message, items []ctxguard.Item) {
	t.Helper()
	for i, it := range items {
		if it.Start < 0 || it.End > len(frame) || it.Start > it.End {
			t.Fatalf("item %d (%s): span [%d,%d) out of the %d-byte frame", i, it.Path, it.Start, it.End, len(frame))
		}
		var member jsonrpc.Span
		switch {
		case strings.HasPrefix(it.Path, "/result"):
			member = m.Result
		case strings.HasPrefix(it.Path, "/params"):
			member = m.Params
		case strings.HasPrefix(it.Path, "/error"):
			member = m.Error
		default:
			t.Errorf("item %d: path %q is not under /result, /params or /error", i, it.Path)
			continue
		}
		if it.Start < member.Start || it.End > member.End {
			t.Errorf("item %d (%s): span [%d,%d) outside its member [%d,%d)", i, it.Path, it.Start, it.End, member.Start, member.End)
		}
		raw := frame[it.Start:it.End]
		if !jsontreetest.ValidOutsideStrings(raw) {
			t.Errorf("item %d (%s): %q is not one JSON value", i, it.Path, raw)
		}
		if m.Ambiguous {
			// The path names the envelope member by its schema name
			// ("/params" for a "pArAms"); the filter withholds such
			// messages without extracting them.
			continue
		}
		spans, err := resolve(m.Span.Of(frame), m.Span.Start, it.Path)
		if err != nil {
			t.Errorf("item %d: resolving %s: %v", i, it.Path, err)
			continue
		}
		found := false
		for _, s := range spans {
			found = found || (s == [2]int{it.Start, it.End})
		}
		if !found {
			t.Errorf("item %d: span [%d,%d) %q is not at its path %s (which holds %v)", i, it.Start, it.End, raw, it.Path, spans)
		}
	}
}

// resolve returns the spans of every value an RFC 6901 JSON Pointer points
// at in the JSON value v, which starts at offset base of the frame. Object
// members are matched by exact name; a name that repeats yields every
// value, and a step that does not fit the value yields none. It is written
// independently of the extractors' tree.
func resolve(v []byte, base int, pointer string) ([][2]int, error) {
	if pointer == "" {
		return [][2]int{{base, base + len(v)}}, nil
	}
	if pointer[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", pointer)
	}
	step, rest, more := strings.Cut(pointer[1:], "/")
	if more {
		rest = "/" + rest
	}
	step = strings.NewReplacer("~1", "/", "~0", "~").Replace(step)

	d := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	var out [][2]int
	switch tok.Kind() {
	case '{':
		for d.PeekKind() != '}' {
			name, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			n := name.String()
			val, err := d.ReadValue()
			if err != nil {
				return nil, err
			}
			if n != step {
				continue
			}
			end := int(d.InputOffset())
			found, err := resolve(val, base+end-len(val), rest)
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
	case '[':
		idx, err := strconv.Atoi(step)
		if err != nil {
			return nil, nil // a name into an array points at nothing
		}
		for i := 0; d.PeekKind() != ']'; i++ {
			val, err := d.ReadValue()
			if err != nil {
				return nil, err
			}
			if i == idx {
				end := int(d.InputOffset())
				return resolve(val, base+end-len(val), rest)
			}
		}
	default:
		// A step into a scalar points at nothing; with duplicate names,
		// another member of the same name may be the container.
	}
	return out, nil
}

// TestMessageConcurrent extracts every test message from many goroutines
// at once and compares with a sequential run.
func TestMessageConcurrent(t *testing.T) {
	msgs := loadMessages(t)
	type result struct {
		items []ctxguard.Item
		err   error
	}
	read := func(tm testMessage) result {
		f, err := jsonrpc.Parse(tm.frame)
		if err != nil {
			return result{err: err}
		}
		items, err := Message(tm.frame, f.Messages[0], tm.method)
		return result{items, err}
	}
	want := make([]result, len(msgs))
	for i, tm := range msgs {
		want[i] = read(tm)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range len(msgs) * 2 {
				i := (g + n) % len(msgs)
				if got := read(msgs[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%s read concurrently differs", msgs[i].name)
					return
				}
			}
		}()
	}
	wg.Wait()
}
