package extract

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// walk returns the raw bytes of every node of a tree, in document order.
func walk(t *tree, n *node, out []string) []string {
	out = append(out, string(t.msg[n.start:n.end]))
	for _, m := range n.members {
		out = walk(t, m.value, out)
	}
	for _, e := range n.elems {
		out = walk(t, e, out)
	}
	return out
}

func TestParseTree(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		value string // the value to parse, inside msg; all of msg when ""
		want  []string
	}{
		{
			name: "compact",
			msg:  `{"a":[1,"x",true,null,{}],"b":{"c":-2.5e3}}`,
			want: []string{`{"a":[1,"x",true,null,{}],"b":{"c":-2.5e3}}`, `[1,"x",true,null,{}]`, `1`, `"x"`, `true`, `null`, `{}`, `{"c":-2.5e3}`, `-2.5e3`},
		},
		{
			name: "whitespace everywhere",
			msg:  "{ \"a\" :\t[ 1 ,\r\n \"x\" ] , \"b\" : { } }",
			want: []string{"{ \"a\" :\t[ 1 ,\r\n \"x\" ] , \"b\" : { } }", "[ 1 ,\r\n \"x\" ]", `1`, `"x"`, `{ }`},
		},
		{
			name:  "a value inside a message",
			msg:   `{"jsonrpc":"2.0","id":1,"result": {"k" : "v"} }`,
			value: `{"k" : "v"}`,
			want:  []string{`{"k" : "v"}`, `"v"`},
		},
		{
			name: "strings with escapes, commas and colons",
			msg:  `["a,b", "c:d", "\"]", "\\", "\u002c"]`,
			want: []string{`["a,b", "c:d", "\"]", "\\", "\u002c"]`, `"a,b"`, `"c:d"`, `"\"]"`, `"\\"`, `"\u002c"`},
		},
		{
			name: "duplicate names are kept",
			msg:  `{"a":1,"a":2,"A":3}`,
			want: []string{`{"a":1,"a":2,"A":3}`, `1`, `2`, `3`},
		},
		{
			name: "a scalar",
			msg:  `"just a string"`,
			want: []string{`"just a string"`},
		},
		{
			name: "invalid UTF-8 is kept",
			msg:  "[\"a\xffb\"]",
			want: []string{"[\"a\xffb\"]", "\"a\xffb\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := 0, len(tt.msg)
			if tt.value != "" {
				start = strings.Index(tt.msg, tt.value)
				end = start + len(tt.value)
			}
			tr, err := parse([]byte(tt.msg), start, end)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got := walk(tr, tr.root, nil)
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
				t.Errorf("node spans = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseTreeErrors(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		tooDeep bool
	}{
		{name: "empty", msg: ``},
		{name: "truncated", msg: `{"a":`},
		{name: "two values", msg: `{} {}`},
		{name: "trailing garbage", msg: `[1]x`},
		{name: "too deep", msg: strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2), tooDeep: true},
		{name: "too deep inside an object", msg: `{"a":` + strings.Repeat(`{"b":`, MaxDepth+1) + `1` + strings.Repeat(`}`, MaxDepth+2), tooDeep: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.msg), 0, len(tt.msg))
			if err == nil {
				t.Fatal("parse succeeded")
			}
			if errors.Is(err, ErrTooDeep) != tt.tooDeep {
				t.Errorf("err = %v; ErrTooDeep %v, want %v", err, errors.Is(err, ErrTooDeep), tt.tooDeep)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want string
		note string
	}{
		{name: "nested strings in order", msg: `{"a":"x","b":["y",{"c":"z"}]}`, want: "x\ny\nz"},
		{name: "numbers, booleans and null are skipped", msg: `[1,true,false,null,"s"]`, want: "s"},
		{name: "_meta is skipped", msg: `{"_meta":{"a":"hidden"},"b":"shown"}`, want: "shown"},
		{name: "_meta in another case is not skipped", msg: `{"_META":{"a":"shown"}}`, want: "shown"},
		{name: "names that are not identifiers are read", msg: `{"Ignore previous instructions":"x","plain_name-1.$/@":"y"}`, want: "Ignore previous instructions\nx\ny"},
		{name: "a long name is read", msg: `{"` + strings.Repeat("a", 65) + `":1}`, want: strings.Repeat("a", 65)},
		{name: "empty strings still add a line", msg: `["a","","b"]`, want: "a\n\nb"},
		{name: "invalid UTF-8 is replaced, with a note", msg: "[\"ok\",\"a\xffb\"]", want: "ok\na\ufffdb", note: "invalid UTF-8 replaced with U+FFFD"},
		{name: "an empty object", msg: `{}`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := parse([]byte(tt.msg), 0, len(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			got, note := tr.strings(tr.root, nil)
			if string(got) != tt.want || note != tt.note {
				t.Errorf("strings = %q, %q; want %q, %q", got, note, tt.want, tt.note)
			}
		})
	}
}

func TestPlainName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", true},
		{"identifier", "content", true},
		{"snake case", "file_path", true},
		{"kebab case", "x-id", true},
		{"dots, dollars, slashes and at", "io.modelcontextprotocol/related-task$@", true},
		{"digits", "v2", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"a space", "two words", false},
		{"a colon", "IMPORTANT:", false},
		{"non-ASCII letters", "café", false},
		{"a newline", "a\nb", false},
		{"a tilde", "~/.ssh", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainName(tt.in); got != tt.want {
				t.Errorf("plainName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAt(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		steps []any
		want  string
	}{
		{"no steps", "/result", nil, "/result"},
		{"a name and an index", "/result", []any{"contents", 0}, "/result/contents/0"},
		{"a slash is escaped", "/result", []any{"a/b"}, "/result/a~1b"},
		{"a tilde is escaped", "/result", []any{"a~b"}, "/result/a~0b"},
		{"a tilde before a one", "", []any{"~1"}, "/~01"},
		{"an empty name", "/params", []any{""}, "/params/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(tt.path, tt.steps...); got != tt.want {
				t.Errorf("at = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOnly(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		want   string
		wantOK bool
	}{
		{name: "one member", msg: `{"type":"text"}`, want: "text", wantOK: true},
		{name: "the same value twice", msg: `{"type":"text","TYPE":"text"}`, want: "text", wantOK: true},
		{name: "escapes are decoded before comparing", msg: `{"type":"text","type":"t\u0065xt"}`, want: "text", wantOK: true},
		{name: "no member", msg: `{"kind":"text"}`},
		{name: "two values", msg: `{"type":"text","type":"image"}`},
		{name: "a case variant with another value", msg: `{"type":"text","Type":"image"}`},
		{name: "not a string", msg: `{"type":1}`},
		{name: "a string and not a string", msg: `{"type":"text","type":null}`},
		{name: "not an object", msg: `["type"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := parse([]byte(tt.msg), 0, len(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tr.only(tr.root, "type")
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("only = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestNodeSpansAreValues checks every node of every test message: its span
// is one JSON value.
func TestNodeSpansAreValues(t *testing.T) {
	for _, tm := range loadMessages(t) {
		tr, err := parse(tm.frame, 0, len(tm.frame))
		if errors.Is(err, ErrTooDeep) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tm.name, err)
		}
		for _, raw := range walk(tr, tr.root, nil) {
			if !json.Valid([]byte(raw)) {
				t.Errorf("%s: node %q is not one JSON value", tm.name, raw)
			}
		}
	}
}
