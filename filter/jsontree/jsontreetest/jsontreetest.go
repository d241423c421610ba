// Package jsontreetest helps tests of code built on jsontree, which checks
// strings only where they end: it tells whether bytes are JSON outside
// their strings.
package jsontreetest

import "encoding/json"

// StripStrings empties every string literal of b (a quote ends a string when
// an even number of backslashes precede it), so that what is left can be
// checked for the grammar outside strings.
func StripStrings(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			out = append(out, b[i])
			continue
		}
		out = append(out, '"', '"')
		j := i + 1
		for ; j < len(b); j++ {
			if b[j] == '\\' {
				j++
				continue
			}
			if b[j] == '"' {
				break
			}
		}
		i = j
	}
	return out
}

// ValidOutsideStrings reports whether b is one JSON value once every string
// in it is emptied.
func ValidOutsideStrings(b []byte) bool { return json.Valid(StripStrings(b)) }
