package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// toAny rebuilds the value of n as encoding/json would decode it, so the
// tree can be compared with the standard library's reading.
func toAny(t *Tree, n Node) (any, error) {
	switch t.Kind(n) {
	case Object:
		m := map[string]any{}
		for c := range t.Children(n) {
			v, err := toAny(t, c)
			if err != nil {
				return nil, err
			}
			m[t.Name(c)] = v // last one wins, as in encoding/json
		}
		return m, nil
	case Array:
		a := []any{}
		for c := range t.Children(n) {
			v, err := toAny(t, c)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case String:
		b, _, err := t.Text(nil, n)
		return string(b), err
	case Number:
		return json.Number(t.Raw(n)), nil
	case True:
		return true, nil
	case False:
		return false, nil
	case Null:
		return nil, nil
	}
	return nil, fmt.Errorf("bad kind %q", t.Kind(n))
}

func TestParseAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+10`, `true`, `false`, `null`,
		` {"a" : [1, 2.5, -3e2, "x", {"b": null}], "c": {"d": [[], {}]}} `,
		`{"esc":"quote \" backslash \\ slash \/ \b\f\n\r\t \u00e9 \ud83d\ude00"}`,
		`{"dup":1,"dup":2}`,
		`["\\", "\\\\\"", "a\\\"b"]`,
		"{\"utf8\":\"Grüße 日本語 👩‍💻\"}",
		`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"x"}]}}`,
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			tr, err := Parse([]byte(in), 0)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := toAny(tr, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, err := decodeStd([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("tree reads %#v, encoding/json %#v", got, want)
			}
		})
	}
}

// decodeStd decodes with encoding/json, numbers as json.Number.
func decodeStd(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ``},
		{"whitespace only", `   `},
		{"trailing data", `{} {}`},
		{"trailing comma in object", `{"a":1,}`},
		{"trailing comma in array", `[1,]`},
		{"missing colon", `{"a" 1}`},
		{"unquoted name", `{a:1}`},
		{"single quotes", `{'a':1}`},
		{"unterminated string", `{"a":"b}`},
		{"unterminated object", `{"a":1`},
		{"unterminated array", `[1,2`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"dot without digits", `1.`},
		{"exponent without digits", `1e`},
		{"plus sign", `+1`},
		{"bad literal", `tru`},
		{"NaN", `NaN`},
		{"mismatched closer", `[1}`},
		{"comment", `{"a":1 /* x */}`},
		{"escaped quote ends nothing", `"abc\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in), 0); err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if json.Valid([]byte(tt.in)) {
				t.Fatalf("test case %q is valid JSON", tt.in)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := Parse([]byte(deep), 100); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v, want ErrTooDeep", err)
	}
	ok := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := Parse([]byte(ok), 100); err != nil {
		t.Fatalf("100 levels with limit 100: %v", err)
	}
	// The default limit holds for input of any size, without recursion.
	huge := strings.Repeat(`{"a":`, 1_000_000)
	if _, err := Parse([]byte(huge), 0); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v, want ErrTooDeep", err)
	}
}

func TestSpansAndMembers(t *testing.T) {
	src := []byte(`{"id": 7, "Result" : {"contents":[ {"text":"a\nb"} , 2 ]}, "result":null, "res\u0075lt":true}`)
	tr, err := Parse(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	id := tr.Get(0, "id")
	if string(tr.Raw(id)) != "7" {
		t.Fatalf("id raw = %q", tr.Raw(id))
	}
	var names []string
	for c := range tr.All(0, "result") {
		names = append(names, tr.Name(c)+"="+string(tr.Raw(c)))
	}
	want := []string{`Result={"contents":[ {"text":"a\nb"} , 2 ]}`, `result=null`, `result=true`}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("All(result) = %q, want %q", names, want)
	}
	if g := tr.Get(0, "result"); string(tr.Raw(g)) != "true" {
		t.Fatalf("Get(result) = %s, want the last exact match (true)", tr.Raw(g))
	}
	res := tr.Get(0, "Result")
	contents := tr.Get(res, "contents")
	var elems []string
	for c := range tr.Children(contents) {
		s, e := tr.Span(c)
		elems = append(elems, string(src[s:e]))
	}
	if !reflect.DeepEqual(elems, []string{`{"text":"a\nb"}`, `2`}) {
		t.Fatalf("elements %q", elems)
	}
	text := tr.Get(tr.Get(contents, "zzz"), "text")
	if text != None {
		t.Fatal("Get on None should be None")
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, raw, want string
		invalid, err    bool
	}{
		{"plain", `"hello"`, "hello", false, false},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", false, false},
		{"unicode escape", `"\u00e9\u65e5"`, "é日", false, false},
		{"surrogate pair", `"\ud83d\ude00"`, "😀", false, false},
		{"lone high surrogate", `"a\ud800b"`, "a\uFFFDb", true, false},
		{"lone low surrogate", `"\udc00"`, "\uFFFD", true, false},
		{"high surrogate then non-surrogate escape", `"\ud800\u0041"`, "\uFFFDA", true, false},
		{"nul escape", `"\u0000"`, "\x00", false, false},
		{"invalid utf8 per byte", "\"a\xff\xfeb\"", "a\uFFFD\uFFFDb", true, false},
		{"truncated utf8", "\"\xe6\x97\"", "\uFFFD\uFFFD", true, false},
		{"bad escape", `"\q"`, "", false, true},
		{"short unicode escape", `"\u12"`, "", false, true},
		{"non-hex unicode escape", `"\u12zz"`, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid, err := AppendUnquote(nil, []byte(tt.raw))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			if string(got) != tt.want || invalid != tt.invalid {
				t.Fatalf("got %q invalid=%v, want %q invalid=%v", got, invalid, tt.want, tt.invalid)
			}
			// Agree with encoding/json on everything it decodes.
			var std string
			if err := json.Unmarshal([]byte(tt.raw), &std); err == nil && std != string(got) {
				t.Fatalf("encoding/json decodes %q, we %q", std, got)
			}
		})
	}
}

// canonical rebuilds the tree as JSON with every string re-encoded from its
// decoded text. If Parse accepted input that encoding/json rejects, the
// difference must lie inside strings: the canonical form is then valid.
func canonical(t *Tree, n Node, buf *bytes.Buffer) {
	str := func(b []byte) {
		s, _ := json.Marshal(string(b))
		buf.Write(s)
	}
	switch t.Kind(n) {
	case Object:
		buf.WriteByte('{')
		i := 0
		for c := range t.Children(n) {
			if i > 0 {
				buf.WriteByte(',')
			}
			i++
			str([]byte(t.Name(c)))
			buf.WriteByte(':')
			canonical(t, c, buf)
		}
		buf.WriteByte('}')
	case Array:
		buf.WriteByte('[')
		i := 0
		for c := range t.Children(n) {
			if i > 0 {
				buf.WriteByte(',')
			}
			i++
			canonical(t, c, buf)
		}
		buf.WriteByte(']')
	case String:
		b, _, _ := t.Text(nil, n)
		str(b)
	default:
		buf.Write(t.Raw(n))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u","text":"a\n\"b\"\\"}]}}`,
		`[1,-2.5e3,true,false,null,"\ud83d\ude00",{"":[]}]`,
		"\"\xff\"", `"\u12"`, `{"a":1,}`, `01`, ` [ ] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := Parse(in, 64)
		valid := json.Valid(in)
		if err != nil {
			if valid && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("Parse rejects valid JSON %q: %v", in, err)
			}
			return
		}
		for i := range tr.nodes {
			s, e := tr.Span(Node(i))
			if s < 0 || e > len(in) || s > e {
				t.Fatalf("node %d span [%d,%d) outside input of %d bytes", i, s, e, len(in))
			}
		}
		var buf bytes.Buffer
		canonical(tr, 0, &buf)
		if !json.Valid(buf.Bytes()) {
			t.Fatalf("Parse accepted %q with a structure encoding/json rejects: %s", in, buf.Bytes())
		}
		if valid {
			got, err := toAny(tr, 0)
			if err != nil {
				t.Fatalf("valid JSON %q, but the tree does not decode: %v", in, err)
			}
			want, _ := decodeStd(in)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: tree reads %#v, encoding/json %#v", in, got, want)
			}
		}
	})
}

func FuzzAppendUnquote(f *testing.F) {
	for _, s := range []string{`"a\nb"`, `"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `"\u00e9"`,
		`"x\ud83d\ude00y\n\u0041\\\"z"`, `"\ud800\u0041tail"`, `"\ud83d\ude00\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if tr, err := Parse(raw, 1); err != nil || tr.Kind(0) != String || len(tr.Raw(0)) != len(raw) {
			return // AppendUnquote takes string literals as Parse delimits them
		}
		orig := string(raw)
		got, inv, err := AppendUnquote(nil, raw)
		if string(raw) != orig {
			t.Fatalf("AppendUnquote changed its input %q to %q", orig, raw)
		}
		// Decoding after a prefix (in place, in dst's own slice) gives the
		// same bytes after an untouched prefix.
		pre, pinv, perr := AppendUnquote([]byte("prefix:"), raw)
		if string(pre) != "prefix:"+string(got) || pinv != inv || (perr == nil) != (err == nil) {
			t.Fatalf("%q: after a prefix %q (%v, %v), alone %q (%v, %v)", raw, pre, pinv, perr, got, inv, err)
		}
		var std string
		if json.Unmarshal(raw, &std) == nil {
			if err != nil {
				t.Fatalf("%q: encoding/json decodes it, AppendUnquote fails: %v", raw, err)
			}
			if std != string(got) {
				t.Fatalf("%q: encoding/json %q, AppendUnquote %q", raw, std, got)
			}
		}
	})
}
