package jsonrpc

import (
	"math"
	"strconv"

	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// IDKey returns the key under which a relay matches a response to its
// request, given the id's raw JSON. Clients compare ids by value, not by
// spelling: "\u0031" is the string "1", and 1.0 is the number 1 to a
// JavaScript client. Keying by value means a server cannot slip a response
// past the filter by respelling an id. Numbers and strings never share a
// key. ok is false for null and for values that are not valid ids.
func IDKey(raw []byte) (key string, ok bool) {
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		if t, err := jsontree.Parse(raw, 1); err != nil || t.Kind(0) != jsontree.String || len(t.Raw(0)) != len(raw) {
			return "", false
		}
		s, invalid, err := jsontree.AppendUnquote(nil, raw)
		if err != nil || invalid {
			return "", false
		}
		return "s" + string(s), true
	case c == '-' || (c >= '0' && c <= '9'):
		// A number must be exactly one valid JSON number: RecoverID's
		// guesses come from a regular expression, and a caller writes the
		// raw id back into an error response when ok is true.
		if !isDigit(raw[len(raw)-1]) || !isNumber(raw) {
			return "", false
		}
		return "n" + canonicalNumber(string(raw)), true
	}
	return "", false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// canonicalNumber keys a valid JSON number by the float64 it reads as: the
// TypeScript SDK compares ids as JavaScript numbers, and the Go SDK decodes
// them through float64 too, so 9007199254740993 and 9007199254740992 are the
// same id to both. Integers a float64 holds exactly take the fast path.
func canonicalNumber(s string) string {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && -1<<53 <= i && i <= 1<<53 {
		return strconv.FormatInt(i, 10)
	}
	// s is a valid number, so the only possible error is a range error,
	// with f then ±Inf.
	f, _ := strconv.ParseFloat(s, 64)
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// isNumber reports whether raw is exactly one JSON number.
func isNumber(raw []byte) bool {
	t, err := jsontree.Parse(raw, 1)
	return err == nil && t.Kind(0) == jsontree.Number && len(t.Raw(0)) == len(raw)
}
