package bolt

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// gate serializes access to the database file between goroutines (mu) and
// between processes (an exclusive flock on a separate lock file).
type gate struct {
	mu   sync.Mutex
	file *os.File
}

func openGate(path string) (*gate, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	return &gate{file: f}, nil
}

func (g *gate) lock() error {
	g.mu.Lock()
	for {
		err := syscall.Flock(int(g.file.Fd()), syscall.LOCK_EX)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			g.mu.Unlock()
			return fmt.Errorf("store: lock %s: %w", g.file.Name(), err)
		}
		return nil
	}
}

func (g *gate) unlock() {
	_ = syscall.Flock(int(g.file.Fd()), syscall.LOCK_UN)
	g.mu.Unlock()
}

func (g *gate) close() error { return g.file.Close() }
