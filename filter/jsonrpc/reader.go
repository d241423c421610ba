package jsonrpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// DefaultMaxFrame is the default limit on one frame: large enough for the
// multi-megabyte documents RAG servers return, small enough that a stream
// of them cannot exhaust memory.
const DefaultMaxFrame = 64 << 20

// headSize is how much of an oversize frame Reader keeps so that the caller
// can still find out which request it answered.
const headSize = 4 << 10

// OversizeError reports a frame longer than the reader's limit. The frame was
// read to its end and discarded; Head and Tail keep its first and last bytes
// (enough to find its id), and SHA256 and Size describe the whole frame so
// it can still be recorded.
type OversizeError struct {
	Limit  int
	Size   int64
	SHA256 string
	Head   []byte
	Tail   []byte
}

func (e *OversizeError) Error() string {
	return fmt.Sprintf("message of %d bytes exceeds the %d-byte limit", e.Size, e.Limit)
}

// Reader reads newline-delimited frames, bounding the memory one frame can
// take. Small frames are copied once out of a read buffer; a frame larger
// than the buffer is read straight into its own growing slice, so a
// megabyte document crosses memory once on its way in.
type Reader struct {
	rd   io.Reader
	max  int
	buf  []byte
	r, w int   // buf[r:w] is read but not yet returned
	err  error // the first error from rd, returned once buf is drained

	// lastLarge is the size of the last frame that did not fit buf. A
	// server's large answers tend to be alike (the same documents, read
	// again), so the next large frame's slice starts that big and is
	// seldom grown and copied.
	lastLarge int
}

// readSize is the read buffer's size, and the most a large frame's slice
// takes in one read.
const readSize = 64 << 10

// NewReader returns a Reader of frames of at most max bytes (DefaultMaxFrame
// when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	return newReaderSize(r, max, readSize)
}

// newReaderSize is NewReader with another buffer size, so that tests and
// fuzzing reach the large-frame path with small inputs.
func newReaderSize(r io.Reader, max, size int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{rd: r, max: max, buf: make([]byte, size)}
}

// Next returns the next frame without its newline, in a slice the caller
// owns. At the end of the input it returns io.EOF; a last frame without a
// newline is returned first. A frame over the limit is consumed and reported
// as an *OversizeError, after which Next can be called again. An error from
// the underlying reader is returned once the frames before it are read.
func (r *Reader) Next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			if i > r.max {
				return nil, r.discard(nil)
			}
			// One byte of spare capacity holds the newline again when
			// the frame is written on, so it goes out in one write.
			frame := make([]byte, i, i+1)
			copy(frame, r.buf[r.r:r.r+i])
			r.r += i + 1
			return frame, nil
		}
		if r.w-r.r > r.max {
			return nil, r.discard(nil)
		}
		if r.err != nil {
			return r.atEnd()
		}
		if r.w-r.r == len(r.buf) {
			return r.large()
		}
		// Make room and read more.
		if r.r > 0 {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		r.err = err
	}
}

// atEnd returns what is left when the input ended without a newline.
func (r *Reader) atEnd() ([]byte, error) {
	if r.err != io.EOF {
		r.r, r.w = 0, 0
		return nil, r.err
	}
	if r.w > r.r {
		frame := bytes.Clone(r.buf[r.r:r.w])
		r.r, r.w = 0, 0
		return frame, nil
	}
	return nil, io.EOF
}

// large reads a frame that does not fit the buffer straight into its own
// slice, sized from the last large frame and doubled when that is short.
func (r *Reader) large() ([]byte, error) {
	size := 2 * len(r.buf)
	if r.lastLarge > 0 {
		size = max(r.w-r.r+minRead, r.lastLarge+largeSlack)
	}
	frame := make([]byte, r.w-r.r, size)
	copy(frame, r.buf[r.r:r.w])
	r.r, r.w = 0, 0
	for {
		if len(frame) > r.max {
			return nil, r.discard(frame)
		}
		if r.err != nil {
			if r.err == io.EOF {
				r.lastLarge = len(frame)
				return frame, nil
			}
			return nil, r.err
		}
		if cap(frame)-len(frame) < min(minRead, len(r.buf)) {
			grown := make([]byte, len(frame), min(2*cap(frame), r.max+2*len(r.buf)))
			copy(grown, frame)
			frame = grown
		}
		// Read no more than the buffer holds, so that what follows the
		// newline fits back into it.
		room := frame[len(frame):min(cap(frame), len(frame)+len(r.buf))]
		n, err := r.rd.Read(room)
		r.err = err
		if i := bytes.IndexByte(room[:n], '\n'); i >= 0 {
			r.w = copy(r.buf, room[i+1:n])
			end := len(frame) + i
			if end > r.max {
				return nil, r.discard(frame[:end+1])
			}
			r.lastLarge = end
			return frame[: end : end+1], nil // the newline is the spare byte
		}
		frame = frame[:len(frame)+n]
	}
}

// largeSlack is what a large frame's slice gets beyond the last one's size:
// room for the newline, the bytes read past it and a slightly longer frame.
// minRead is the least room worth a read call before the slice is grown.
const (
	largeSlack = 8 << 10
	minRead    = 4 << 10
)

// discard consumes the rest of an oversize frame, hashing it and keeping its
// head and tail. seen holds the frame's bytes already taken out of the
// buffer; the rest is in the buffer and the input. The frame ends at the
// first newline (which seen may already end with).
func (r *Reader) discard(seen []byte) error {
	h := sha256.New()
	e := &OversizeError{Limit: r.max}
	var tail []byte
	take := func(b []byte) {
		h.Write(b)
		e.Size += int64(len(b))
		if len(e.Head) < headSize {
			e.Head = append(e.Head, b[:min(len(b), headSize-len(e.Head))]...)
		}
		tail = append(tail, b...)
		if len(tail) > 2*headSize {
			tail = append(tail[:0], tail[len(tail)-headSize:]...)
		}
	}
	finish := func() error {
		if len(tail) > headSize {
			tail = tail[len(tail)-headSize:]
		}
		e.Tail = bytes.Clone(tail)
		e.SHA256 = hex.EncodeToString(h.Sum(nil))
		return e
	}
	if n := len(seen); n > 0 && seen[n-1] == '\n' {
		take(seen[:n-1])
		return finish()
	}
	take(seen)
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			take(r.buf[r.r : r.r+i])
			r.r += i + 1
			return finish()
		}
		take(r.buf[r.r:r.w])
		r.r, r.w = 0, 0
		if r.err != nil {
			if r.err != io.EOF {
				return r.err
			}
			return finish()
		}
		n, err := r.rd.Read(r.buf)
		r.w = n
		r.err = err
	}
}
