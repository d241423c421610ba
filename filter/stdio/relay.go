package stdio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
)

// Options configure a relay.
type Options struct {
	// Command is the server's command line.
	Command []string
	// Env is the child's environment; the parent's when nil.
	Env    []string
	Filter *filter.Filter
	// Session is the client's session through the filter.
	Session *filter.Session
	// Stdin, Stdout and Stderr are the client's side and where the child's
	// stderr goes.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals are passed on to the server.
	Signals <-chan os.Signal
	// MaxFrame bounds one message each way (jsonrpc.DefaultMaxFrame when 0).
	MaxFrame int
	// Window bounds the server frames in flight: by count (default 64) and
	// by bytes (WindowBytes, default 32 MiB).
	Window      int
	WindowBytes int64
	// ShutdownTimeout is how long the server has to exit after its stdin is
	// closed before it gets SIGTERM, and again before SIGKILL. Default 5s.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Result says how a relay ended.
type Result struct {
	// ExitCode is the server's exit code, 128+n when a signal n ended it.
	ExitCode int
	// ServerExited is set when the server ended the session (its process
	// exited or closed its output) while the client was still connected.
	ServerExited bool
	// Unanswered counts the client requests answered with an error because
	// the server went away.
	Unanswered int
}

type relay struct {
	Options
	log *slog.Logger
	cmd *exec.Cmd

	toServerMu sync.Mutex
	toServer   *os.File

	toClientMu sync.Mutex
	clientGone bool

	window *semaphore.Weighted
	slots  chan struct{}
}

// Run starts the server and relays until the session ends: the client closes
// its input (the server is then asked to exit), or the server exits. It
// returns an error only when the server could not be started.
func Run(ctx context.Context, opts Options) (Result, error) {
	if len(opts.Command) == 0 {
		return Result{}, errors.New("stdio: no server command")
	}
	if opts.Window <= 0 {
		opts.Window = 64
	}
	if opts.WindowBytes <= 0 {
		opts.WindowBytes = 32 << 20
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = jsonrpc.DefaultMaxFrame
	}
	r := &relay{Options: opts, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.window = semaphore.NewWeighted(opts.WindowBytes)
	r.slots = make(chan struct{}, opts.Window)
	return r.run(ctx)
}

func (r *relay) run(ctx context.Context) (Result, error) {
	r.cmd = exec.Command(r.Command[0], r.Command[1:]...)
	r.cmd.Env = r.Env
	r.cmd.Stderr = r.Stderr
	// Its own process group, so that signals reach the server and whatever
	// it started (npx starts node), and only once: ctxguard passes them on.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Plain pipes both ways, not StdinPipe and StdoutPipe, so that waiting
	// for the process and reading its output are independent, and so that
	// the pipes can be made larger: a pipe holds 64 KiB by default, and a
	// document of that size then takes several wakeups of both ends.
	inR, inW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("stdio: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return Result{}, fmt.Errorf("stdio: %w", err)
	}
	growPipe(inW)
	growPipe(pw)
	// The client's side too, when it is a pipe: a response larger than
	// 64 KiB would otherwise be written in pieces, each waiting for the
	// client to read the last.
	if f, ok := r.Stdout.(*os.File); ok {
		growPipe(f)
		if g, release, ok := pollable(f, os.O_WRONLY); ok {
			defer release()
			r.Stdout = g
		}
	}
	if f, ok := r.Stdin.(*os.File); ok {
		if g, release, ok := pollable(f, os.O_RDONLY); ok {
			defer release()
			r.Stdin = g
		}
	}
	r.cmd.Stdin, r.cmd.Stdout = inR, pw
	err = r.cmd.Start()
	inR.Close() // the child has its own copies now
	pw.Close()
	if err != nil {
		inW.Close()
		pr.Close()
		return Result{}, fmt.Errorf("stdio: start %s: %w", r.Command[0], err)
	}
	r.toServer = inW
	r.log.Info("server started", "server", r.Session.Server, "pid", r.cmd.Process.Pid, "session", r.Session.ID)

	// processExited is closed when the process ends; exited is the loop's
	// copy, set to nil once seen.
	processExited := make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(processExited)
	}()
	exited := processExited

	clientDone := make(chan struct{})
	go func() {
		r.fromClient()
		close(clientDone)
	}()

	serverDone := make(chan struct{})
	go func() {
		r.fromServer(ctx, pr)
		close(serverDone)
	}()

	var res Result
	shutdown := func() {
		r.closeToServer()
		r.stop(processExited)
	}
loop:
	for {
		select {
		case sig := <-r.Signals:
			r.log.Info("passing a signal to the server", "signal", sig.String())
			r.signal(sig.(syscall.Signal))
		case <-clientDone:
			clientDone = nil
			r.log.Info("client closed its input: stopping the server", "server", r.Session.Server)
			go shutdown()
		case <-serverDone:
			break loop
		case <-exited:
			// The process is gone; its output may still be open in a
			// process it started. Give that a moment, then stop reading.
			exited = nil
			go func() {
				select {
				case <-serverDone:
				case <-time.After(2 * time.Second):
					pr.Close()
				}
			}()
		}
	}
	if exited != nil {
		r.closeToServer()
		r.stop(processExited)
		<-processExited
	}
	res.ExitCode = exitCode(r.cmd.ProcessState)
	if clientDone != nil && !r.isClientGone() {
		// The server left while the client was still connected.
		res.ServerExited = true
		for _, q := range r.Session.Pending() {
			res.Unanswered++
			r.writeClient(jsonrpc.ErrorResponse(q.ID, ctxguard.CodeServerExited,
				fmt.Sprintf("ctxguard: the MCP server %q exited (%s) before answering", r.Session.Server, describeExit(r.cmd.ProcessState))))
		}
	}
	return res, nil
}

// fromClient forwards the client's frames to the server, remembering its
// requests.
func (r *relay) fromClient() {
	rd := jsonrpc.NewReader(r.Stdin, r.MaxFrame)
	for {
		frame, err := rd.Next()
		var over *jsonrpc.OversizeError
		switch {
		case errors.As(err, &over):
			id, _ := jsonrpc.RecoverID(over.Head, over.Tail)
			r.log.Warn("refused an oversize message from the client", "bytes", over.Size, "limit", over.Limit)
			if _, ok := jsonrpc.IDKey(id); ok {
				r.writeClient(jsonrpc.ErrorResponse(id, ctxguard.CodeMessageTooLarge,
					fmt.Sprintf("ctxguard: the request (%d bytes) exceeds the filter's %d-byte limit", over.Size, over.Limit)))
			}
			continue
		case err != nil:
			if err != io.EOF {
				r.log.Warn("reading from the client", "err", err)
			}
			return
		}
		replies, forward := r.Session.FromClient(frame)
		for _, rep := range replies {
			r.writeClient(rep)
		}
		if forward && !r.writeServer(frame) {
			return
		}
	}
}

// A job is one server frame in flight.
type job struct {
	out  []byte
	done chan struct{}
	size int64
}

// fromServer reads the server's frames, processes them concurrently and
// writes the results to the client in arrival order.
func (r *relay) fromServer(ctx context.Context, pr *os.File) {
	defer pr.Close()
	queue := make(chan *job, r.Window)
	written := make(chan struct{})
	go func() {
		defer close(written)
		for j := range queue {
			<-j.done
			if j.out != nil {
				r.writeClient(j.out)
			}
			r.window.Release(j.size)
			<-r.slots
		}
	}()
	defer func() {
		close(queue)
		<-written
	}()

	rd := jsonrpc.NewReader(pr, r.MaxFrame)
	for {
		frame, err := rd.Next()
		var over *jsonrpc.OversizeError
		if errors.As(err, &over) {
			j := r.admit(ctx, queue, 0)
			j.out = r.Filter.Oversize(ctx, r.Session, over)
			close(j.done)
			continue
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, os.ErrClosed) {
				r.log.Warn("reading from the server", "err", err)
			}
			return
		}
		ex := r.Filter.Correlate(r.Session, frame)
		if len(r.slots) == 0 {
			// Nothing in flight: nothing to keep in order and nothing to
			// share a commit with. Process here and spare two goroutine
			// handoffs, the common case of one request at a time.
			r.forward(ctx, ex)
			continue
		}
		j := r.admit(ctx, queue, int64(len(frame)))
		go func() {
			j.out = r.process(ctx, ex)
			close(j.done)
		}()
	}
}

// process runs an exchange through the filter, answers the server where the
// filter withheld its request, and returns what goes to the client.
func (r *relay) process(ctx context.Context, ex *filter.Exchange) []byte {
	out, toServer := r.Filter.Process(ctx, ex)
	for _, m := range toServer {
		r.writeServer(m)
	}
	return out
}

// forward processes an exchange and writes the result at once.
func (r *relay) forward(ctx context.Context, ex *filter.Exchange) {
	if out := r.process(ctx, ex); out != nil {
		r.writeClient(out)
	}
}

// admit waits for room in the window and queues a job.
func (r *relay) admit(ctx context.Context, queue chan<- *job, size int64) *job {
	size = min(size, r.WindowBytes)
	r.slots <- struct{}{}
	_ = r.window.Acquire(context.WithoutCancel(ctx), size)
	j := &job{done: make(chan struct{}), size: size}
	queue <- j
	return j
}

func (r *relay) writeClient(frame []byte) {
	r.toClientMu.Lock()
	defer r.toClientMu.Unlock()
	if r.clientGone {
		return
	}
	if err := writeLine(r.Stdout, frame); err != nil {
		r.clientGone = true
		r.log.Warn("the client stopped reading: stopping the server", "err", err)
		go r.closeToServer()
	}
}

func (r *relay) isClientGone() bool {
	r.toClientMu.Lock()
	defer r.toClientMu.Unlock()
	return r.clientGone
}

// writeServer writes one frame to the server; false when it is gone.
func (r *relay) writeServer(frame []byte) bool {
	r.toServerMu.Lock()
	defer r.toServerMu.Unlock()
	if r.toServer == nil {
		return false
	}
	if err := writeLine(r.toServer, frame); err != nil {
		r.log.Warn("writing to the server", "err", err)
		return false
	}
	return true
}

func (r *relay) closeToServer() {
	r.toServerMu.Lock()
	defer r.toServerMu.Unlock()
	if r.toServer != nil {
		r.toServer.Close()
		r.toServer = nil
	}
}

// stop asks the server to exit the way the MCP stdio transport describes:
// its input is closed; if it has not exited in time, SIGTERM; then SIGKILL.
func (r *relay) stop(exited <-chan struct{}) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-exited:
			return
		case <-time.After(r.ShutdownTimeout):
			r.log.Warn("server did not exit in time", "server", r.Session.Server, "signal", sig.String())
			r.signal(sig)
		}
	}
}

func (r *relay) signal(sig syscall.Signal) {
	if r.cmd.Process == nil {
		return
	}
	// The whole group: the server and the processes it started.
	if err := syscall.Kill(-r.cmd.Process.Pid, sig); err != nil {
		_ = r.cmd.Process.Signal(sig)
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func describeExit(ps *os.ProcessState) string {
	if ps == nil {
		return "output closed"
	}
	return ps.String()
}

// writeLine writes frame and a newline. A frame with spare capacity takes
// the newline in place and goes out in one write; a large frame, whose
// slice is exactly its length, is not copied to add one byte.
func writeLine(w io.Writer, frame []byte) error {
	if cap(frame) > len(frame) {
		_, err := w.Write(append(frame, '\n'))
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return err
	}
	_, err := w.Write(newline)
	return err
}

var newline = []byte{'\n'}

// growPipe asks for a 1 MiB pipe buffer; where that is refused (a lower
// fs.pipe-max-size, or not a pipe), the default stays. It goes through
// SyscallConn because File.Fd would switch the descriptor to blocking mode,
// taking it out of the runtime's poller.
func growPipe(f *os.File) {
	conn, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = conn.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20)
	})
}
