package jsonrpc

import (
	"testing"
)

func TestIDKeySame(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"1.0 is 1", `1`, `1.0`, true},
		{"1e0 is 1", `1`, `1e0`, true},
		{"100 spelled with an exponent", `100`, `1E+2`, true},
		{"0.1e1 is 1", `1`, `0.1e1`, true},
		{"-0 is 0", `0`, `-0`, true},
		{"-0.0 is 0", `0`, `-0.0`, true},
		{"0e5 is 0", `0`, `0e5`, true},
		{"trailing zeros of a fraction", `1.5`, `1.50`, true},
		{"fraction and exponent", `1.5`, `15e-1`, true},
		{"string 1 is not number 1", `"1"`, `1`, false},
		{"string 1.0 is not string 1", `"1.0"`, `"1"`, false},
		{"string escapes are decoded", `"1"`, `"\u0031"`, true},
		{"escaped solidus", `"a/b"`, `"a\/b"`, true},
		{"escaped quote", `"a\"b"`, `"a\u0022b"`, true},
		{"unicode escape and UTF-8", `"é"`, `"\u00e9"`, true},
		{"surrogate pair", `"😀"`, `"\ud83d\ude00"`, true},
		{"strings differ by case", `"a"`, `"A"`, false},
		{"empty string is not 0", `""`, `0`, false},
		{"1 and 2 differ", `1`, `2`, false},
		{"1 and -1 differ", `1`, `-1`, false},
		{"1.5 and 1 differ", `1.5`, `1`, false},
		{"large integers that differ", `123456789`, `123456788`, false},
		{"2^53 spelled two ways", `9007199254740992`, `9007199254740992.0`, true},
		{"2^53+1 is read as 2^53", `9007199254740993`, `9007199254740992`, true},
		{"2^53+1 spelled with a fraction", `9007199254740993`, `9007199254740993.0`, true},
		{"2^53-1 is exact", `9007199254740991`, `9007199254740990`, false},
		{"int64 max spelled two ways", `9223372036854775807`, `9223372036854775807.0`, true},
		{"int64 min spelled two ways", `-9223372036854775808`, `-9223372036854775808.0`, true},
		{"past uint64", `123456789012345678901234567890`, `1.2345678901234568e29`, true},
		{"overflow is infinity", `1e400`, `2e400`, true},
		{"negative overflow is not positive", `-1e400`, `1e400`, false},
		{"underflow is 0", `1e-400`, `0`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, oka := IDKey([]byte(tt.a))
			kb, okb := IDKey([]byte(tt.b))
			if !oka || !okb {
				t.Fatalf("IDKey(%s) ok = %v, IDKey(%s) ok = %v; want both ok", tt.a, oka, tt.b, okb)
			}
			if (ka == kb) != tt.same {
				t.Errorf("IDKey(%s) = %q, IDKey(%s) = %q; same = %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
			}
		})
	}
}

func TestIDKeyInvalid(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"empty", ``},
		{"null", `null`},
		{"true", `true`},
		{"false", `false`},
		{"object", `{"id":1}`},
		{"array", `[1]`},
		{"unterminated string", `"abc`},
		{"string followed by data", `"a"b`},
		{"string with invalid UTF-8", "\"a\xffb\""},
		{"string with a lone surrogate", `"\ud800"`},
		{"string with a bad escape", `"\x41"`},
		{"leading space", ` 1`},
		{"trailing space", `1 `},
		{"leading plus", `+1`},
		{"leading zero", `01`},
		{"lone minus", `-`},
		{"two dots", `1.2.3`},
		{"dangling exponent", `1e`},
		{"dangling exponent sign", `1e+`},
		{"dangling dot", `1.`},
		{"minus in the middle", `1-2`},
		{"hex", `0x10`},
		{"Infinity", `Infinity`},
		{"NaN", `NaN`},
		{"two numbers", `1 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if key, ok := IDKey([]byte(tt.raw)); ok {
				t.Errorf("IDKey(%q) = %q, true; want not ok", tt.raw, key)
			}
		})
	}
}

// TestIDKeyIDsOfFrames keys the id of every request and response in
// testdata/frames.jsonl: whatever Parse locates as an id of a JSON-RPC
// type must key.
func TestIDKeyIDsOfFrames(t *testing.T) {
	for i, frame := range readFrames(t) {
		f, err := Parse(frame)
		if err != nil {
			continue
		}
		for _, m := range f.Messages {
			id := m.ID.Of(frame)
			if len(id) == 0 {
				continue
			}
			_, ok := IDKey(id)
			wantOK := id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9')
			if ok != wantOK {
				t.Errorf("line %d: IDKey(%s) ok = %v, want %v", i+1, id, ok, wantOK)
			}
		}
	}
}
