package jsonrpc

import (
	"math"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
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
		s, err := jsontext.AppendUnquote(nil, raw)
		if err != nil {
			return "", false
		}
		return "s" + string(s), true
	case c == '-' || (c >= '0' && c <= '9'):
		return "n" + canonicalNumber(string(raw)), true
	}
	return "", false
}

func canonicalNumber(s string) string {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeError(err) {
		return s
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
