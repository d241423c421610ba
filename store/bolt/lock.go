package bolt

import (
	"fmt"
	"os"
	"syscall"
)

// gate serializes access to the database file between processes: the
// holder has an exclusive flock on the gate file. A process that wants the
// gate first takes a shared flock on the want file, so that the holder can
// see, with one non-blocking syscall per transaction, that someone is
// waiting and let go at once instead of lingering.
type gate struct {
	gate, want *os.File
}

func openGate(path string) (*gate, error) {
	g, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	w, err := os.OpenFile(path+".want", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	return &gate{gate: g, want: w}, nil
}

// lock blocks until this process holds the gate. flock wakes a blocked
// waiter as soon as the holder unlocks, unlike bbolt's own lock, which
// polls every 50 ms.
func (g *gate) lock() error {
	if err := flock(g.want, syscall.LOCK_SH); err != nil {
		return fmt.Errorf("store: lock %s: %w", g.want.Name(), err)
	}
	err := flock(g.gate, syscall.LOCK_EX)
	_ = flock(g.want, syscall.LOCK_UN)
	if err != nil {
		return fmt.Errorf("store: lock %s: %w", g.gate.Name(), err)
	}
	return nil
}

func (g *gate) unlock() { _ = flock(g.gate, syscall.LOCK_UN) }

// contended reports whether another process is waiting for the gate.
func (g *gate) contended() bool {
	err := syscall.Flock(int(g.want.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		return true
	}
	_ = flock(g.want, syscall.LOCK_UN)
	return false
}

func (g *gate) close() error {
	g.want.Close()
	return g.gate.Close()
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
