package stdio

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctxguard/ctxguard/internal/rawsys"
)

// rawFile reads and writes a non-blocking descriptor that is in the
// runtime's poller with raw system calls (internal/rawsys says why),
// waiting in the poller when the descriptor is not ready, as os.File does.
// Through the descriptor's RawConn, so that a Close from another goroutine
// waits for a call under way and wakes a wait, as it does for os.File.
type rawFile struct {
	f    *os.File
	conn syscall.RawConn
}

// raw returns f as a rawFile when it is a non-blocking descriptor in the
// poller, and f itself otherwise.
func raw(f *os.File) io.ReadWriteCloser {
	if r, ok := newRawFile(f); ok {
		return r
	}
	return f
}

func newRawFile(f *os.File) (*rawFile, bool) {
	conn, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	nonblocking := false
	if err := conn.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblocking = err == nil && fl&unix.O_NONBLOCK != 0
	}); err != nil || !nonblocking {
		return nil, false
	}
	// Only a descriptor in the poller takes a deadline; on any other,
	// the RawConn would not wait for readiness but spin on EAGAIN.
	if f.SetDeadline(time.Time{}) != nil {
		return nil, false
	}
	return &rawFile{f: f, conn: conn}, true
}

func (r *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := r.conn.Read(func(fd uintptr) bool {
		n, rerr = rawsys.Read(fd, p)
		return !errors.Is(rerr, syscall.EAGAIN) // else wait in the poller, then again
	})
	switch {
	case err != nil:
		return 0, r.waitErr("read", err)
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: rerr}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting in the poller while the pipe is full.
func (r *rawFile) Write(p []byte) (int, error) {
	done := 0
	var werr error
	err := r.conn.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, err := rawsys.Write(fd, p[done:])
			if errors.Is(err, syscall.EAGAIN) {
				return false // the reader has not made room yet
			}
			if err != nil {
				werr = err
				return true
			}
			done += n
		}
		return true
	})
	switch {
	case err != nil:
		return done, r.waitErr("write", err)
	case werr != nil:
		return done, &os.PathError{Op: "write", Path: r.f.Name(), Err: werr}
	}
	return done, nil
}

func (r *rawFile) Close() error { return r.f.Close() }

// waitErr is the error of a RawConn wait as os.File reports it: a deadline,
// or else the descriptor was closed (the relay tells a close at shutdown
// from a failure by os.ErrClosed).
func (r *rawFile) waitErr(op string, err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		err = os.ErrClosed
	}
	return &os.PathError{Op: op, Path: r.f.Name(), Err: err}
}
