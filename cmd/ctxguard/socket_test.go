package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Node clients (libuv) give a server socket pairs, in blocking mode, for its
// stdin and stdout, not pipes. wrap relays over them as over pipes, and
// leaves the sockets in blocking mode when it exits, as it found them.
func TestWrapOverSocketPairs(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script.json")
	if err := os.WriteFile(script, []byte(`{"*":["{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{}}"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	pair := func() (client, server *os.File) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fds[0]), "client"), os.NewFile(uintptr(fds[1]), "server")
	}
	inClient, inServer := pair()
	outClient, outServer := pair()
	defer inClient.Close()
	defer outClient.Close()
	defer inServer.Close()
	defer outServer.Close()

	cmd := exec.Command(ctxguardBin, wrapArgs(t.TempDir(), nil, scriptedBin, "-script", script)...)
	var stderr strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inServer, outServer, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	out := bufio.NewReader(outClient)
	for i := 1; i <= 50; i++ {
		if _, err := fmt.Fprintf(inClient, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i); err != nil {
			t.Fatal(err)
		}
		line, err := out.ReadString('\n')
		if err != nil || line != fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{}}`+"\n", i) {
			t.Fatalf("answer %d: %q, %v; stderr: %s", i, line, err, stderr.String())
		}
	}
	// The client leaves: a socket has no end of input until it is shut
	// down for writing (closing our copy alone would leave the child's).
	if err := unix.Shutdown(int(inClient.Fd()), unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ctxguard: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("ctxguard did not exit at the end of its input; stderr: %s", stderr.String())
	}
	for _, f := range []*os.File{inServer, outServer} {
		fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fl&unix.O_NONBLOCK != 0 {
			t.Errorf("%s: left non-blocking after ctxguard exited", f.Name())
		}
	}
}
