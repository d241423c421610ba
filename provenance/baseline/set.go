package baseline

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/provenance/manifest"
	"github.com/ctxguard/ctxguard/store"
)

// maxSignatureBytes bounds a .sig file; an SSH signature is well under 4 KiB.
const maxSignatureBytes = 64 << 10

// Loaded is one manifest file as the filter loaded it.
type Loaded struct {
	Path string
	// Verified is the parsed manifest and its checks; nil when the file is
	// not a manifest (Reason says why).
	Verified *Verified
	// Rejected is set when nothing in the manifest may be trusted.
	Rejected bool
	Reason   string

	snapOnce sync.Once
	snap     *Snapshot
	snapErr  error
}

// Name returns the manifest's knowledge-base name, or its file name.
func (l *Loaded) Name() string {
	if l.Verified != nil {
		return l.Verified.Manifest.Name
	}
	return filepath.Base(l.Path)
}

// Snapshot returns the manifest's snapshot, opened on first use.
func (l *Loaded) Snapshot() (*Snapshot, error) {
	l.snapOnce.Do(func() { l.snap, l.snapErr = OpenSnapshot(l.Path + SnapshotSuffix) })
	return l.snap, l.snapErr
}

func (l *Loaded) close() {
	l.snapOnce.Do(func() { l.snapErr = errors.New("snapshot: closed") })
	if l.snap != nil {
		l.snap.Close()
	}
}

// ref is one entry of one manifest.
type ref struct {
	m *Loaded
	e *manifest.Entry
}

// Set is the loaded baselines, indexed by URI. It is immutable: a reload
// builds a new Set.
type Set struct {
	Manifests []*Loaded
	byURI     map[string]ref
	// more holds the entries of URIs that several accepted manifests list
	// beyond the first; rare, so kept out of the main map.
	more     map[string][]ref
	rejected map[string]*Loaded
}

// Check is the outcome of looking one item up.
type Check struct {
	Status ctxguard.BaselineStatus
	// Manifest and Entry are what the item was checked against; nil for
	// unsigned items (and Entry for rejected ones).
	Manifest *Loaded
	Entry    *manifest.Entry
}

// Lookup checks content with checksum sum, served as uri, at time now.
func (s *Set) Lookup(uri string, sum [32]byte, now time.Time) Check {
	if s == nil {
		return Check{Status: ctxguard.BaselineUnsigned}
	}
	r, ok := s.byURI[uri]
	if !ok {
		if l := s.rejected[uri]; l != nil {
			return Check{Status: ctxguard.BaselineRejected, Manifest: l}
		}
		return Check{Status: ctxguard.BaselineUnsigned}
	}
	refs := append([]ref{r}, s.more[uri]...)
	// A match with any live manifest is a match; else the newest live
	// manifest is what the content drifted from; with none live, the
	// newest expired one.
	var best *ref
	for i := range refs {
		live := !refs[i].m.Verified.Expired(now)
		if live && refs[i].e.SHA256 == sum {
			return Check{Status: ctxguard.BaselineMatch, Manifest: refs[i].m, Entry: refs[i].e}
		}
		if best == nil || better(&refs[i], best, now) {
			best = &refs[i]
		}
	}
	st := ctxguard.BaselineDrifted
	if best.m.Verified.Expired(now) {
		st = ctxguard.BaselineExpired
	}
	return Check{Status: st, Manifest: best.m, Entry: best.e}
}

// better prefers live manifests, then the most recently issued.
func better(a, b *ref, now time.Time) bool {
	al, bl := !a.m.Verified.Expired(now), !b.m.Verified.Expired(now)
	if al != bl {
		return al
	}
	return a.m.Verified.Manifest.IssuedAt.After(b.m.Verified.Manifest.IssuedAt)
}

// Entries returns the number of entries the set trusts.
func (s *Set) Entries() int {
	n := len(s.byURI)
	for _, m := range s.more {
		n += len(m)
	}
	return n
}

// Close releases the manifests' snapshots.
func (s *Set) Close() {
	for _, l := range s.Manifests {
		l.close()
	}
}

// Sources lists the manifest files under paths: a file is a manifest; in a
// directory, every file with a ".sig" beside it is one.
func Sources(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("baselines: %w", err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		des, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("baselines: %w", err)
		}
		for _, de := range des {
			name := de.Name()
			if base, ok := strings.CutSuffix(name, SignatureSuffix); ok && base != "" && !strings.HasPrefix(name, ".") {
				if st, err := os.Stat(filepath.Join(p, base)); err == nil && st.Mode().IsRegular() {
					out = append(out, filepath.Join(p, base))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Load reads and verifies the manifests under paths against trust. With a
// store, each knowledge base's accepted sequence is remembered there, and a
// manifest older than one accepted before is rejected as a rollback, also
// across restarts. Manifests that fail are kept, rejected, so that their
// URIs are reported as such rather than as merely unsigned.
func Load(ctx context.Context, paths []string, trust *Trust, bs store.Baselines, now time.Time) (*Set, error) {
	files, err := Sources(paths)
	if err != nil {
		return nil, err
	}
	s := &Set{byURI: map[string]ref{}, more: map[string][]ref{}, rejected: map[string]*Loaded{}}
	byName := map[string][]*Loaded{}
	for _, path := range files {
		l := loadOne(path, trust, now)
		s.Manifests = append(s.Manifests, l)
		if !l.Rejected {
			name := l.Verified.Manifest.Name
			byName[name] = append(byName[name], l)
		}
	}
	// Of the manifests of one knowledge base, the newest counts; the store
	// refuses it if a newer one was accepted before.
	for _, ls := range byName {
		slices.SortFunc(ls, func(a, b *Loaded) int { return cmp.Compare(b.Verified.Manifest.Sequence, a.Verified.Manifest.Sequence) })
		top := ls[0]
		for _, l := range ls[1:] {
			if l.Verified.Manifest.Sequence == top.Verified.Manifest.Sequence && l.Verified.Digest != top.Verified.Digest {
				top.Rejected, top.Reason = true, fmt.Sprintf("sequence %d of %s is also signed with other content in %s", l.Verified.Manifest.Sequence, l.Verified.Manifest.Name, l.Path)
			}
			l.Rejected, l.Reason = true, fmt.Sprintf("rollback: sequence %d of %s is older than sequence %d in %s",
				l.Verified.Manifest.Sequence, l.Verified.Manifest.Name, top.Verified.Manifest.Sequence, top.Path)
		}
		if bs != nil && !top.Rejected {
			m := top.Verified.Manifest
			if err := bs.AcceptManifest(ctx, m.Name, m.Sequence, top.Verified.Digest); err != nil {
				switch {
				case errors.Is(err, store.ErrRollback), errors.Is(err, store.ErrSequenceReused):
					seq, _, _, _ := bs.AcceptedManifest(ctx, m.Name)
					top.Rejected, top.Reason = true, fmt.Sprintf("rollback: sequence %d of %s, but sequence %d was accepted before", m.Sequence, m.Name, seq)
					if errors.Is(err, store.ErrSequenceReused) {
						top.Reason = fmt.Sprintf("sequence %d of %s was accepted before with other content", m.Sequence, m.Name)
					}
				default:
					return nil, fmt.Errorf("baselines: %w", err)
				}
			}
		}
	}
	for _, l := range s.Manifests {
		if l.Verified == nil {
			continue
		}
		es := l.Verified.Manifest.Entries
		for i := range es {
			uri := es[i].URI
			if l.Rejected {
				if _, ok := s.rejected[uri]; !ok {
					s.rejected[uri] = l
				}
				continue
			}
			r := ref{l, &es[i]}
			if _, ok := s.byURI[uri]; ok {
				s.more[uri] = append(s.more[uri], r)
			} else {
				s.byURI[uri] = r
			}
		}
	}
	return s, nil
}

func loadOne(path string, trust *Trust, now time.Time) *Loaded {
	l := &Loaded{Path: path}
	raw, err := readLimited(path, manifest.MaxBytes)
	if err != nil {
		l.Rejected, l.Reason = true, err.Error()
		return l
	}
	sig, sigErr := readLimited(path+SignatureSuffix, maxSignatureBytes)
	v, err := Verify(raw, sig, trust, now)
	if err != nil {
		l.Rejected, l.Reason = true, err.Error()
		return l
	}
	if sigErr != nil {
		// The manifest is kept, so that its URIs are reported as
		// rejected rather than unsigned.
		v.Problems = []Problem{{Kind: ProblemSignature, Detail: "no signature: " + sigErr.Error()}}
	}
	l.Verified = v
	if v.Rejected() {
		l.Rejected, l.Reason = true, v.Reason()
	}
	return l
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return buf.Bytes(), nil
}
