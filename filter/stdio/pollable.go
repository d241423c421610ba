package stdio

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// pollable returns a descriptor for the pipe or socket behind f, in
// non-blocking mode, so that reading and writing the client's side go
// through the runtime's poller, and the function that lets go of it; where
// that cannot be had (f is a terminal or a file, or /proc is not mounted),
// it returns f itself, a no-op and false.
//
// Why: a client hands over its pipes in blocking mode, and a goroutine
// blocked in read(2) on one holds its P in a system call. Each time the
// other P is busy (processing a response), the runtime's monitor thread
// takes that P back, and every such retake keeps the monitor waking every
// 20 µs instead of backing off to 10 ms: on a two-core machine, tens of
// thousands of wakeups a second taken from the server and the filter.
//
// Setting O_NONBLOCK on f itself would change the open file description
// that the client (and anything else holding the pipe) shares, so a pipe
// is opened again through /proc/self/fd, which on Linux gives a new
// description of the same pipe whose flags are ours alone. A socket (Node
// clients, through libuv, hand over socket pairs) cannot be opened again:
// its shared description is made non-blocking, as Go does for any socket
// it polls, and put back in blocking mode when it is let go of.
func pollable(f *os.File, flag int) (*os.File, func(), bool) {
	keep := func() {}
	fd, st, ok := stat(f)
	if !ok {
		return f, keep, false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		if g, ok := reopenPipe(fd, flag, st); ok {
			return g, func() { g.Close() }, true
		}
	case unix.S_IFSOCK:
		if g, wasBlocking, ok := dupSocket(fd); ok {
			return g, func() {
				g.Close()
				if wasBlocking {
					_ = unix.SetNonblock(int(fd), false) // f's descriptor: the client's, and not polled
				}
			}, true
		}
	}
	return f, keep, false
}

// stat returns f's descriptor and what fstat says of it. Through
// SyscallConn: File.Fd would put a polled descriptor in blocking mode.
func stat(f *os.File) (uintptr, unix.Stat_t, bool) {
	var st unix.Stat_t
	var fd uintptr
	var err error
	conn, cerr := f.SyscallConn()
	if cerr != nil {
		return 0, st, false
	}
	if cerr := conn.Control(func(d uintptr) { fd, err = d, unix.Fstat(int(d), &st) }); cerr != nil || err != nil {
		return 0, st, false
	}
	return fd, st, true
}

// reopenPipe opens the pipe fd names again, non-blocking, and checks that
// it got the same pipe, not whatever /proc resolved the link to.
func reopenPipe(fd uintptr, flag int, st unix.Stat_t) (*os.File, bool) {
	// O_NONBLOCK in the open makes os.OpenFile register the descriptor
	// with the poller; a FIFO opened for writing without a reader would
	// fail with ENXIO rather than block, and f is then kept.
	g, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), flag|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	if _, re, ok := stat(g); !ok || re.Ino != st.Ino || re.Dev != st.Dev {
		g.Close()
		return nil, false
	}
	return g, true
}

// dupSocket returns a non-blocking duplicate of socket fd, and whether
// the socket was in blocking mode before.
func dupSocket(fd uintptr) (*os.File, bool, bool) {
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, false, false
	}
	fl, err := unix.FcntlInt(uintptr(nfd), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(nfd)
		return nil, false, false
	}
	wasBlocking := fl&unix.O_NONBLOCK == 0
	if wasBlocking {
		if err := unix.SetNonblock(nfd, true); err != nil {
			unix.Close(nfd)
			return nil, false, false
		}
	}
	// NewFile polls a descriptor that is non-blocking.
	return os.NewFile(uintptr(nfd), "client socket"), wasBlocking, true
}
