package swar

import (
	"encoding/binary"
	"testing"
)

// naive answers as the comparisons do, one byte at a time.
func naive(v uint64, f func(b byte) bool) uint64 {
	var m uint64
	for i := range 8 {
		if f(byte(v >> (8 * i))) {
			m |= 0x80 << (8 * i)
		}
	}
	return m
}

func check(t *testing.T, v uint64, c byte) {
	t.Helper()
	if c >= 0x80 {
		return // the comparisons take ASCII bytes and bounds
	}
	v &^= Highs
	if got, want := AtLeast(v, c), naive(v, func(b byte) bool { return b >= c }); got != want {
		t.Fatalf("AtLeast(%#x, %#x) = %#x, want %#x", v, c, got, want)
	}
	if got, want := AtMost(v, c), naive(v, func(b byte) bool { return b <= c }); got != want {
		t.Fatalf("AtMost(%#x, %#x) = %#x, want %#x", v, c, got, want)
	}
	if got, want := Equal(v, c), naive(v, func(b byte) bool { return b == c }); got != want {
		t.Fatalf("Equal(%#x, %#x) = %#x, want %#x", v, c, got, want)
	}
}

// Every byte value against every bound, in every position of the word,
// beside neighbours that would show a carry (0x00 and 0x7f).
func TestCompareEveryByte(t *testing.T) {
	for b := range 0x80 {
		for c := range 0x80 {
			for pos := range 8 {
				for _, fill := range []byte{0x00, 0x7f, byte(c)} {
					var w [8]byte
					for i := range w {
						w[i] = fill
					}
					w[pos] = byte(b)
					check(t, binary.LittleEndian.Uint64(w[:]), byte(c))
				}
			}
		}
	}
}

func FuzzCompare(f *testing.F) {
	f.Add(uint64(0x7f00615a7a413020), byte('a'))
	f.Fuzz(func(t *testing.T, v uint64, c byte) { check(t, v, c) })
}
