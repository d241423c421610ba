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

	pr, ok := pollable(r, os.O_RDONLY)
	if !ok {
		t.Fatal("a pipe's read end was not reopened")
	}
	defer pr.Close()
	pw, ok := pollable(w, os.O_WRONLY)
	if !ok {
		t.Fatal("a pipe's write end was not reopened")
	}
	defer pw.Close()

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
	pw.Close()
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
	if g, ok := pollable(f, os.O_WRONLY); ok || g != f {
		t.Error("a regular file was reopened; it should be kept as it is")
	}
}
