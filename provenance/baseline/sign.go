package baseline

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctxguard/ctxguard/provenance/manifest"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

// SignatureSuffix names a manifest's detached signature, as ssh-keygen -Y
// sign names it.
const SignatureSuffix = ".sig"

// Header is what a manifest says besides its entries.
type Header struct {
	Name      string
	Sequence  uint64
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Signer is the signing key's fingerprint.
	Signer    string
	URIPrefix string
}

// Builder collects the documents of a manifest and writes their snapshot
// as it goes, so that memory holds one document at a time.
type Builder struct {
	out     string
	entries []manifest.Entry
	uris    map[string]bool
	snap    *SnapshotWriter
	bytes   int64
}

// NewBuilder starts a manifest to be written at out (with out.sig and
// out.snapshot beside it).
func NewBuilder(out string) (*Builder, error) {
	snap, err := CreateSnapshot(out + SnapshotSuffix)
	if err != nil {
		return nil, err
	}
	return &Builder{out: out, uris: map[string]bool{}, snap: snap}, nil
}

// Add adds a document.
func (b *Builder) Add(uri, mimeType string, content []byte) error {
	sum := sha256.Sum256(content)
	if err := b.entry(uri, mimeType, int64(len(content)), sum); err != nil {
		return err
	}
	return b.snap.Add(sum, content)
}

// entry lists a document in the manifest.
func (b *Builder) entry(uri, mimeType string, size int64, sum [32]byte) error {
	if b.uris[uri] {
		return fmt.Errorf("sign: %s twice", uri)
	}
	b.uris[uri] = true
	b.entries = append(b.entries, manifest.Entry{URI: uri, SHA256: sum, Size: size, MIME: mimeType})
	b.bytes += size
	return nil
}

// AddFiles adds files in order. Reading, hashing and compressing them for
// the snapshot run on every core ahead of the builder, which only appends:
// compression, not the disk, bounds signing a directory of text.
func (b *Builder) AddFiles(files []File, progress func(bytes int64)) error {
	type prepared struct {
		size int64
		sum  [32]byte
		c    *Compressed
		err  error
	}
	results := make([]chan prepared, len(files))
	for i := range results {
		results[i] = make(chan prepared, 1)
	}
	window := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	done := make(chan struct{})
	defer close(done)
	go func() {
		for i, f := range files {
			select {
			case window <- struct{}{}:
			case <-done:
				return
			}
			go func() {
				var p prepared
				content, err := os.ReadFile(f.Path)
				if err == nil {
					p.size, p.sum = int64(len(content)), sha256.Sum256(content)
					p.c, err = Compress(p.sum, content)
				}
				p.err = err
				results[i] <- p
			}()
		}
	}()
	for i, f := range files {
		p := <-results[i]
		<-window
		if p.err != nil {
			return fmt.Errorf("sign: %w", p.err)
		}
		if err := b.entry(f.URI, MIMEType(f.Path), p.size, p.sum); err != nil {
			return err
		}
		if err := b.snap.AddCompressed(p.c); err != nil {
			return err
		}
		if progress != nil {
			progress(p.size)
		}
	}
	return nil
}

// Len returns the number of documents and their total size so far.
func (b *Builder) Len() (docs int, bytes int64) { return len(b.entries), b.bytes }

// Finish writes the manifest, signed with signer when it is not nil (else
// the owner signs it with ssh-keygen), and the snapshot. It returns the
// manifest's bytes.
func (b *Builder) Finish(h Header, signer ssh.Signer) ([]byte, error) {
	defer b.snap.Abort() // a no-op once closed
	manifest.SortEntries(b.entries)
	m := &manifest.Manifest{Name: h.Name, Sequence: h.Sequence, IssuedAt: h.IssuedAt.UTC().Truncate(time.Second),
		ExpiresAt: h.ExpiresAt.UTC().Truncate(time.Second), Signer: h.Signer, URIPrefix: h.URIPrefix, Entries: b.entries}
	raw, err := manifest.Encode(m)
	if err != nil {
		return nil, err
	}
	if err := b.snap.Close(); err != nil {
		return nil, err
	}
	if signer != nil {
		sig, err := sshsig.Sign(raw, signer)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(b.out+SignatureSuffix, sig); err != nil {
			return nil, err
		}
	} else if err := os.Remove(b.out + SignatureSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A stale signature beside a new manifest would only confuse.
		return nil, err
	}
	if err := writeFileAtomic(b.out, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Abort discards what was built.
func (b *Builder) Abort() { b.snap.Abort() }

// File is one document found under a directory.
type File struct {
	// Path is the file's path; URI is what a server would name it.
	Path, URI string
	Size      int64
}

// Walk lists the regular files under dir and maps each to prefix + its
// slash-separated relative path. Files for which skip returns true are left
// out; everything else that is not a regular file (a symlink, a device) is
// returned in skipped, so that the caller can say so.
func Walk(dir, prefix string, skip func(path string) bool) (files []File, skipped []string, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if skip != nil && skip(path) {
			return nil
		}
		if !d.Type().IsRegular() {
			skipped = append(skipped, path)
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, File{Path: path, URI: prefix + filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	return files, skipped, err
}

// MIMEType guesses a file's MIME type from its name; "" when unknown.
func MIMEType(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".md", ".markdown":
		return "text/markdown"
	case ".txt", ".text":
		return "text/plain"
	}
	return mime.TypeByExtension(ext)
}

// PathFor maps a manifest entry's URI back to a file under dir; ok is false
// when the URI is not under the manifest's prefix or would leave dir.
func PathFor(m *manifest.Manifest, dir, uri string) (string, bool) {
	rel, ok := strings.CutPrefix(uri, m.URIPrefix)
	if !ok || m.URIPrefix == "" {
		return "", false
	}
	rel = filepath.FromSlash(rel)
	if !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.Join(dir, rel), true
}
