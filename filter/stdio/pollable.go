package stdio

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// pollable returns a descriptor of its own, in non-blocking mode, for the
// pipe behind f, so that reading and writing the client's side go through
// the runtime's poller; where that cannot be had (f is not a pipe, or
// /proc is not mounted), it returns f itself and false.
//
// Why: a client hands over its pipes in blocking mode, and a goroutine
// blocked in read(2) on one holds its P in a system call. Each time the
// other P is busy (processing a response), the runtime's monitor thread
// takes that P back, and every such retake keeps the monitor waking every
// 20 µs instead of backing off to 10 ms: on a two-core machine, tens of
// thousands of wakeups a second taken from the server and the filter.
//
// Setting O_NONBLOCK on f itself would change the open file description
// that the client (and anything else holding the pipe) shares, so the
// pipe is opened again through /proc/self/fd, which on Linux gives a new
// description of the same pipe whose flags are ours alone.
func pollable(f *os.File, flag int) (*os.File, bool) {
	conn, err := f.SyscallConn()
	if err != nil {
		return f, false
	}
	var st unix.Stat_t
	var fd uintptr
	var statErr error
	if err := conn.Control(func(d uintptr) { fd, statErr = d, unix.Fstat(int(d), &st) }); err != nil || statErr != nil {
		return f, false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return f, false
	}
	// O_NONBLOCK in the open makes os.OpenFile register the descriptor
	// with the poller; a FIFO opened for writing without a reader would
	// fail with ENXIO rather than block, and f is then kept.
	g, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), flag|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return f, false
	}
	// The same pipe, not whatever /proc resolved the link to. (Through
	// SyscallConn: File.Fd would put the descriptor back in blocking mode.)
	var same bool
	if gc, err := g.SyscallConn(); err == nil {
		_ = gc.Control(func(d uintptr) {
			var re unix.Stat_t
			same = unix.Fstat(int(d), &re) == nil && re.Ino == st.Ino && re.Dev == st.Dev
		})
	}
	if !same {
		g.Close()
		return f, false
	}
	return g, true
}
