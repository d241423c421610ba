package jsontree

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrEscape is returned for a malformed escape sequence in a string.
var ErrEscape = errors.New("jsontree: malformed escape in string")

// AppendUnquote appends the decoded value of the JSON string literal raw
// (quotes included, as Parse delimits it: no unescaped quote inside) to dst. Invalid UTF-8 bytes and lone surrogates are
// replaced with U+FFFD, one per byte as encoding/json does, and reported by
// invalid. Runs without escapes are copied whole, so a document is decoded
// at memory speed.
func AppendUnquote(dst, raw []byte) (out []byte, invalid bool, err error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return dst, false, errors.New("jsontree: not a string literal")
	}
	body := raw[1 : len(raw)-1]
	start := len(dst)
	dst = grow(dst, len(body))
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\\')
		if i < 0 {
			dst = append(dst, body...)
			break
		}
		dst = append(dst, body[:i]...)
		body = body[i:]
		if len(body) < 2 {
			return dst, invalid, ErrEscape
		}
		switch c := body[1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(body[2:])
			if !ok {
				return dst, invalid, ErrEscape
			}
			body = body[6:]
			if utf16.IsSurrogate(r) {
				if len(body) >= 6 && body[0] == '\\' && body[1] == 'u' {
					if r2, ok := hex4(body[2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							body = body[6:]
							continue
						}
					}
				}
				invalid = true
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, invalid, ErrEscape
		}
		body = body[2:]
	}
	if !utf8.Valid(dst[start:]) {
		invalid = true
		dst = append(dst[:start], replaceInvalid(dst[start:])...)
	}
	return dst, invalid, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// replaceInvalid returns a copy of b with each invalid byte replaced by
// U+FFFD.
func replaceInvalid(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}
