// Package rawsys makes the few system calls of the relay's hot path that
// never block (reads and writes of non-blocking pipes and sockets, a
// non-blocking flock) or block only briefly (a small write to the page
// cache) as raw system calls, outside the runtime's system call entry.
//
// Why: the runtime's entry wakes its monitor thread (sysmon) on the first
// system call after the process was idle, and the monitor then sleeps and
// wakes every 20 µs for as long as the process is busy. A filter is idle
// between every response and the next request, so it paid that on every
// request: a fifth of wrap's CPU time was the monitor's wakeups, each a
// context switch taken from the client, the server or the relay on a
// two-core machine. A raw call holds its P for the call's duration, which
// is why only calls that return at once go through here.
//
// Each call retries on EINTR and returns the errno as an error (nil for
// none).
package rawsys

import (
	"syscall"
	"unsafe"
)

// Read reads into p from fd, once: n == 0 with a nil error is the end of
// the input; syscall.EAGAIN means a non-blocking fd has nothing yet.
func Read(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// Write writes p to fd, once: it may write less than p (a pipe with less
// room), and returns syscall.EAGAIN when a non-blocking fd has no room.
func Write(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// Pwrite writes all of p to fd at offset off, as File.WriteAt does.
func Pwrite(fd uintptr, p []byte, off int64) error {
	for len(p) > 0 {
		n, _, e := syscall.RawSyscall6(syscall.SYS_PWRITE64, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(off), 0, 0)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return e
		case n == 0:
			return syscall.EIO // no progress: do not spin
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// Flock applies or removes an advisory lock on fd; with LOCK_NB in how it
// never blocks (syscall.EWOULDBLOCK when another holds the lock).
func Flock(fd uintptr, how int) error {
	for {
		_, _, e := syscall.RawSyscall(syscall.SYS_FLOCK, fd, uintptr(how), 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
