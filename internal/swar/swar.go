// Package swar compares the eight bytes of a uint64 at once (SIMD within a
// register), for the scanners that read text a word at a time: the
// keyword walk and normalisation's prose fast path. The comparisons take
// words whose bytes are all below 0x80 (mask the others out first with
// Highs) and answer with the high bit of each byte: no sum they make
// carries from one byte into the next.
package swar

// Ones is 0x01 in every byte; Highs is 0x80 in every byte.
const (
	Ones  = 0x0101010101010101
	Highs = 0x8080808080808080
)

// AtLeast sets the high bit of each byte of x that is at least lo.
func AtLeast(x uint64, lo byte) uint64 { return (x + Ones*uint64(0x80-lo)) & Highs }

// AtMost sets the high bit of each byte of x that is at most hi.
func AtMost(x uint64, hi byte) uint64 { return ^(x + Ones*uint64(0x7f-hi)) & Highs }

// Equal sets the high bit of each byte of x that is c.
func Equal(x uint64, c byte) uint64 { return ^((x ^ Ones*uint64(c)) + Ones*0x7f) & Highs }
