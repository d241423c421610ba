package stdio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// pipe returns both ends of a pipe as rawFiles, failing the test when
// either is not taken for one (os.Pipe's ends are in the poller).
func rawPipe(t *testing.T) (*rawFile, *rawFile) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	rr, ok := newRawFile(r)
	if !ok {
		t.Fatal("the read end of os.Pipe was not taken as a raw file")
	}
	rw, ok := newRawFile(w)
	if !ok {
		t.Fatal("the write end of os.Pipe was not taken as a raw file")
	}
	return rr, rw
}

// waitFor fails the test when done is not closed in time: a guard against
// a hang, not a measurement.
func waitFor(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no return after 30 s", what)
	}
}

func TestRawFileCarriesMoreThanThePipeHolds(t *testing.T) {
	r, w := rawPipe(t)
	// 4 MiB through a 64 KiB pipe: the writer waits in the poller for
	// room many times, the reader for data.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18)
	errc := make(chan error, 1)
	go func() {
		n, err := w.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		w.Close()
		errc <- err
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	// The writer has closed: EOF, again and again.
	for range 2 {
		if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("after the writer closed: %d, %v; want 0, EOF", n, err)
		}
	}
}

func TestRawFileCloseWakesARead(t *testing.T) {
	r, _ := rawPipe(t)
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		_, err = r.Read(make([]byte, 16)) // nothing comes: waits in the poller
	}()
	time.Sleep(50 * time.Millisecond) // let it wait (the test holds either way)
	r.Close()
	waitFor(t, done, "Read after Close")
	if !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read on a closed pipe: %v, want os.ErrClosed", err)
	}
}

func TestRawFileBrokenPipe(t *testing.T) {
	r, w := rawPipe(t)
	r.Close()
	// The reader is gone: a clear error, and the process lives on (a
	// SIGPIPE for a descriptor other than 1 and 2 is ignored).
	_, err := w.Write([]byte("anyone there?\n"))
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write with no reader: %v, want EPIPE", err)
	}
}

func TestRawFileOnlyForPolledDescriptors(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := newRawFile(f); ok {
		t.Fatal("a regular file was taken as a raw file")
	}
	if got := raw(f); got != io.ReadWriteCloser(f) {
		t.Fatalf("raw of a regular file = %T, want the file itself", got)
	}
	// A pipe end in blocking mode (as File.Fd leaves it) is not one either.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	pr.Fd()
	if _, ok := newRawFile(pr); ok {
		t.Fatal("a blocking pipe was taken as a raw file")
	}
}
