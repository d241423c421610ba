package extract

import (
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// parseTree parses msg for the tree helpers' tests. The parser itself is
// tested in package jsontree.
func parseTree(t *testing.T, msg string) (tree, node) {
	t.Helper()
	jt, err := jsontree.Parse([]byte(msg), MaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	return tree{jt}, 0
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
			tr, root := parseTree(t, tt.msg)
			got, note := tr.strings(root, nil)
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
			tr, root := parseTree(t, tt.msg)
			got, ok := tr.only(root, "type")
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("only = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
