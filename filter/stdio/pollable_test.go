package stdio

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// flags reads a descriptor's status flags without File.Fd, which would put
// it in blocking mode.
func flags(t *testing.T, f *os.File) int {
	t.Helper()
	conn, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	var ferr error
	if err := conn.Control(func(fd uintptr) { fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	return fl
}

func TestPollablePipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// A client's pipes arrive in blocking mode.
	for _, f := range []*os.File{r, w} {
		conn, _ := f.SyscallConn()
		_ = conn.Control(func(fd uintptr) { _ = unix.SetNonblock(int(fd), false) })
	}

	pr, releaseR, ok := pollable(r, os.O_RDONLY)
	if !ok {
		t.Fatal("a pipe's read end was not reopened")
	}
	defer releaseR()
	pw, releaseW, ok := pollable(w, os.O_WRONLY)
	if !ok {
		t.Fatal("a pipe's write end was not reopened")
	}

	if flags(t, pr)&unix.O_NONBLOCK == 0 || flags(t, pw)&unix.O_NONBLOCK == 0 {
		t.Error("the reopened descriptors are not non-blocking")
	}
	// The descriptions the client shares are left as they were.
	if flags(t, r)&unix.O_NONBLOCK != 0 || flags(t, w)&unix.O_NONBLOCK != 0 {
		t.Error("reopening changed the original descriptors' flags")
	}

	// Both ends are the same pipe, and a read waits in the poller: a
	// deadline works only on a descriptor the runtime polls.
	if err := pr.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("read end not in the poller: %v", err)
	}
	if _, err := pr.Read(make([]byte, 1)); !os.IsTimeout(err) {
		t.Fatalf("read from an empty pipe: %v, want a timeout", err)
	}
	_ = pr.SetReadDeadline(time.Time{})
	if _, err := pw.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("read %q, %v", buf, err)
	}

	// The reader sees the end of input once every writer is gone,
	// the original and the reopened one.
	releaseW()
	w.Close()
	if n, err := pr.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the writers closed: %d, %v; want EOF", n, err)
	}
}

func TestPollableNotAPipe(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if g, _, ok := pollable(f, os.O_WRONLY); ok || g != f {
		t.Error("a regular file was reopened; it should be kept as it is")
	}
}

// A socket pair, as Node clients (libuv) hand over: the socket is polled
// while in use and in blocking mode again once let go of.
func TestPollableSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours := os.NewFile(uintptr(fds[0]), "ours") // blocking: NewFile does not poll it
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer ours.Close()
	defer peer.Close()
	if flags(t, ours)&unix.O_NONBLOCK != 0 {
		t.Fatal("the socket starts non-blocking")
	}

	g, release, ok := pollable(ours, os.O_RDONLY)
	if !ok {
		t.Fatal("a socket was not made pollable")
	}
	if err := g.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("socket not in the poller: %v", err)
	}
	if _, err := g.Read(make([]byte, 1)); !os.IsTimeout(err) {
		t.Fatalf("read from an idle socket: %v, want a timeout", err)
	}
	_ = g.SetReadDeadline(time.Time{})
	if _, err := peer.Write([]byte("pong\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(g, buf); err != nil || string(buf) != "pong\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if _, err := g.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(peer, buf[:4]); err != nil || string(buf[:4]) != "back" {
		t.Fatalf("peer read %q, %v", buf[:4], err)
	}

	release()
	if flags(t, ours)&unix.O_NONBLOCK != 0 {
		t.Error("the socket was left non-blocking after it was let go of")
	}
	// Its original descriptor still works.
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, err := ours.Read(buf[:1]); n != 1 || err != nil {
		t.Fatalf("original descriptor after release: %d, %v", n, err)
	}
}
