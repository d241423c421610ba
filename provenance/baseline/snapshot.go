package baseline

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// SnapshotSuffix names a manifest's snapshot: MANIFEST.snapshot beside
// MANIFEST and MANIFEST.sig.
const SnapshotSuffix = ".snapshot"

// The snapshot keeps the signed content itself, so that a drift can be
// shown as a diff. It is a zip file of the documents, each stored once
// under its SHA-256 in hex. It is not signed: every document read from it
// is checked against the hash the signed manifest gives, so a tampered
// snapshot yields no diff rather than a false one.

// SnapshotWriter writes a snapshot, atomically: the file appears complete
// at Close or not at all.
type SnapshotWriter struct {
	path string
	f    *os.File
	z    *zip.Writer
	seen map[[32]byte]bool
}

// CreateSnapshot starts a snapshot to be written at path.
func CreateSnapshot(path string) (*SnapshotWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// Documents are deflated by Compress (speed over size: signing a large
	// knowledge base should not wait on compression, and text compresses
	// well even so) and stored as they come.
	z := zip.NewWriter(f)
	return &SnapshotWriter{path: path, f: f, z: z, seen: map[[32]byte]bool{}}, nil
}

// Add stores content, whose SHA-256 is sum, unless it is stored already.
func (w *SnapshotWriter) Add(sum [32]byte, content []byte) error {
	if w.seen[sum] {
		return nil
	}
	c, err := Compress(sum, content)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return w.AddCompressed(c)
}

// Compressed is a document compressed for the snapshot ahead of time, so
// that many can be compressed at once while one writer adds them in order.
type Compressed struct {
	sum  [32]byte
	crc  uint32
	size int64
	data []byte
}

// Compress prepares content, whose SHA-256 is sum, for AddCompressed. It is
// safe to call from many goroutines.
func Compress(sum [32]byte, content []byte) (*Compressed, error) {
	fw := flatePool.Get().(*flate.Writer)
	defer flatePool.Put(fw)
	var buf bytes.Buffer
	fw.Reset(&buf)
	if _, err := fw.Write(content); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return &Compressed{sum: sum, crc: crc32.ChecksumIEEE(content), size: int64(len(content)), data: buf.Bytes()}, nil
}

var flatePool = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

// AddCompressed stores a document Compress prepared, unless the same
// content is stored already.
func (w *SnapshotWriter) AddCompressed(c *Compressed) error {
	if w.seen[c.sum] {
		return nil
	}
	w.seen[c.sum] = true
	zw, err := w.z.CreateRaw(&zip.FileHeader{Name: hex.EncodeToString(c.sum[:]), Method: zip.Deflate,
		CRC32: c.crc, CompressedSize64: uint64(len(c.data)), UncompressedSize64: uint64(c.size)})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := zw.Write(c.data); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Close finishes the snapshot and moves it into place.
func (w *SnapshotWriter) Close() error {
	err := w.z.Close()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Abort discards the snapshot.
func (w *SnapshotWriter) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// Snapshot reads a snapshot. It is safe for concurrent use.
type Snapshot struct {
	r     *zip.ReadCloser
	files map[string]*zip.File
}

// ErrNotInSnapshot is returned for content the snapshot does not hold.
var ErrNotInSnapshot = errors.New("snapshot: content not in the snapshot")

// OpenSnapshot opens the snapshot at path.
func OpenSnapshot(path string) (*Snapshot, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	s := &Snapshot{r: r, files: make(map[string]*zip.File, len(r.File))}
	for _, f := range r.File {
		s.files[f.Name] = f
	}
	return s, nil
}

// Content returns the stored content whose SHA-256 is sum and whose size
// the manifest gives. It reads at most size bytes, so a snapshot cannot
// make the filter inflate more than the signed document's size.
func (s *Snapshot) Content(sum [32]byte, size int64) ([]byte, error) {
	f, ok := s.files[hex.EncodeToString(sum[:])]
	if !ok {
		return nil, ErrNotInSnapshot
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, size+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if int64(len(b)) != size || sha256.Sum256(b) != sum {
		return nil, errors.New("snapshot: stored content does not match the signed checksum")
	}
	return b, nil
}

// Close closes the snapshot file.
func (s *Snapshot) Close() error { return s.r.Close() }
