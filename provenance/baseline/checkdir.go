package baseline

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"

	"github.com/ctxguard/ctxguard/provenance/manifest"
)

// CheckDir compares the documents under dir with the manifest: each entry's
// file must exist with the signed checksum, and no file may be there that
// the manifest does not list. skip leaves files out (the manifest's own
// files when they lie inside dir). Files are hashed on every core.
func CheckDir(m *manifest.Manifest, dir string, skip func(path string) bool) ([]Problem, error) {
	if m.URIPrefix == "" {
		return nil, errors.New("the manifest was made from a server (no uri_prefix): it cannot be checked against a directory")
	}
	files, skipped, err := Walk(dir, m.URIPrefix, skip)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, p := range skipped {
		problems = append(problems, Problem{Kind: ProblemAdded, URI: p, Detail: "not a regular file"})
	}
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		onDisk[f.URI] = true
		if _, ok := m.Lookup(f.URI); !ok {
			problems = append(problems, Problem{Kind: ProblemAdded, URI: f.URI, Detail: "not in the manifest"})
		}
	}

	results := make([]*Problem, len(m.Entries))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				results[i] = checkEntry(m, dir, &m.Entries[i], onDisk)
			}
		})
	}
	for i := range m.Entries {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, p := range results {
		if p != nil {
			problems = append(problems, *p)
		}
	}
	return problems, nil
}

func checkEntry(m *manifest.Manifest, dir string, e *manifest.Entry, onDisk map[string]bool) *Problem {
	path, ok := PathFor(m, dir, e.URI)
	if !ok {
		return &Problem{Kind: ProblemMissing, URI: e.URI, Detail: "the URI does not map to a file under the directory"}
	}
	if !onDisk[e.URI] {
		return &Problem{Kind: ProblemMissing, URI: e.URI, Detail: "no such file: " + path}
	}
	sum, n, err := hashFile(path)
	if err != nil {
		return &Problem{Kind: ProblemMissing, URI: e.URI, Detail: err.Error()}
	}
	if sum != e.SHA256 || n != e.Size {
		return &Problem{Kind: ProblemChanged, URI: e.URI,
			Detail: fmt.Sprintf("sha256 %x (%d bytes), signed %x (%d bytes)", sum, n, e.SHA256, e.Size)}
	}
	return nil
}

func hashFile(path string) ([32]byte, int64, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return sum, 0, fmt.Errorf("no such file: %s", path)
		}
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return sum, 0, err
	}
	h.Sum(sum[:0])
	return sum, n, nil
}
