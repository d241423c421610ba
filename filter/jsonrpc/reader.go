package jsonrpc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// take.
type Reader struct {
	br  *bufio.Reader
	max int
}

// NewReader returns a Reader of frames of at most max bytes (DefaultMaxFrame
// when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next frame without its newline, in a slice the caller
// owns. At the end of the input it returns io.EOF; a last frame without a
// newline is returned first. A frame over the limit is consumed and reported
// as an *OversizeError, after which Next can be called again.
func (r *Reader) Next() ([]byte, error) {
	var frame []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		n := len(frame) + len(chunk)
		if err == nil {
			n-- // the newline is not part of the frame
		}
		if n > r.max {
			return nil, r.discard(frame, chunk, err)
		}
		switch {
		case err == nil:
			if frame == nil {
				return bytes.Clone(chunk[:len(chunk)-1]), nil
			}
			return append(frame, chunk[:len(chunk)-1]...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if frame == nil {
				frame = make([]byte, 0, 2*len(chunk))
			}
			frame = append(frame, chunk...)
		case err == io.EOF:
			if len(frame)+len(chunk) == 0 {
				return nil, io.EOF
			}
			return append(frame, chunk...), nil
		default:
			return nil, err
		}
	}
}

// discard reads the rest of an oversize frame, hashing it, and keeps its
// head and tail.
func (r *Reader) discard(frame, chunk []byte, err error) error {
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
	take(frame)
	for {
		if err == nil { // chunk ends with the newline
			take(chunk[:len(chunk)-1])
			break
		}
		take(chunk)
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err != io.EOF {
				return err
			}
			break
		}
		chunk, err = r.br.ReadSlice('\n')
	}
	if len(tail) > headSize {
		tail = tail[len(tail)-headSize:]
	}
	e.Tail = bytes.Clone(tail)
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	return e
}
