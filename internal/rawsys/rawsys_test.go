package rawsys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestPwrite(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Pwrite(f.Fd(), []byte("world"), 6); err != nil {
		t.Fatal(err)
	}
	if err := Pwrite(f.Fd(), []byte("hello "), 0); err != nil {
		t.Fatal(err)
	}
	if err := Pwrite(f.Fd(), nil, 100); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte("hello world")) {
		t.Fatalf("file holds %q", got)
	}
	// A read-only descriptor: the errno, not a panic or a short count.
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := Pwrite(ro.Fd(), []byte("x"), 0); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Pwrite to a read-only file: %v, want EBADF", err)
	}
}

func TestReadWrite(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	r, w := uintptr(p[0]), uintptr(p[1])
	buf := make([]byte, 16)
	if _, err := Read(r, buf); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Read of an empty non-blocking pipe: %v, want EAGAIN", err)
	}
	if n, err := Write(w, []byte("ping")); n != 4 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if n, err := Read(r, buf); n != 4 || err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read: %d, %v, %q", n, err, buf[:n])
	}
	if n, err := Read(r, nil); n != 0 || err != nil {
		t.Fatalf("Read into nothing: %d, %v", n, err)
	}
	syscall.Close(p[1])
	if n, err := Read(r, buf); n != 0 || err != nil {
		t.Fatalf("Read after the writer closed: %d, %v; want 0, nil (end of input)", n, err)
	}
}

func TestFlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := Flock(a.Fd(), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := Flock(b.Fd(), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("a second exclusive lock: %v, want EWOULDBLOCK", err)
	}
	if err := Flock(a.Fd(), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := Flock(b.Fd(), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the lock once released: %v", err)
	}
}
