// Package manifest is the baseline manifest: what a knowledge-base owner
// signs. A manifest lists, for each document, its URI, SHA-256, size and MIME
// type, under a knowledge-base name and a sequence number that only grows.
//
// A manifest has exactly one valid serialisation (Encode's), and Parse
// accepts only that: the signature covers exact bytes, so two readers must
// never disagree about what a signed manifest says. Duplicated keys or
// entries, unknown fields, unsorted entries, other whitespace or escaping
// are all refused.
package manifest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Format is the format version this package reads and writes.
const Format = "ctxguard-manifest/1"

// Limits on what Parse reads: a manifest comes from whoever can write to
// the directory the filter loads manifests from.
const (
	MaxBytes      = 256 << 20
	MaxEntries    = 2_000_000
	MaxNameBytes  = 256
	MaxURIBytes   = 8 << 10
	MaxMIMEBytes  = 256
	timeLayout    = "2006-01-02T15:04:05Z"
	signerPrefix  = "SHA256:"
	maxSignerSize = 128
)

// Manifest is a parsed manifest.
type Manifest struct {
	// Name is the knowledge base's name; Sequence orders its manifests.
	Name     string
	Sequence uint64
	// IssuedAt and ExpiresAt bound the manifest's validity (UTC, seconds).
	IssuedAt, ExpiresAt time.Time
	// Signer is the fingerprint ("SHA256:…") of the key that signs it.
	Signer string
	// URIPrefix is the prefix the documents were mapped under when the
	// manifest was made from a directory ("" when made from a server).
	URIPrefix string
	// Entries are sorted by URI, each URI once.
	Entries []Entry
}

// Entry is one signed document.
type Entry struct {
	URI    string
	SHA256 [32]byte
	Size   int64
	MIME   string
}

// wire is the JSON shape; Encode writes it field by field, in this order.
type wire struct {
	Format    string      `json:"format"`
	Name      string      `json:"name"`
	Sequence  uint64      `json:"sequence"`
	IssuedAt  string      `json:"issued_at"`
	ExpiresAt string      `json:"expires_at"`
	Signer    string      `json:"signer"`
	URIPrefix string      `json:"uri_prefix"`
	Entries   []wireEntry `json:"entries"`
}

type wireEntry struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
}

// Errors Parse returns (wrapped, with detail).
var (
	ErrSyntax       = errors.New("manifest: not a valid manifest")
	ErrNonCanonical = errors.New("manifest: not in canonical form")
	ErrDuplicate    = errors.New("manifest: duplicated entry")
	ErrTooLarge     = errors.New("manifest: too large")
)

// Encode writes m in the canonical form: the header on the first line, one
// entry a line, entries sorted by URI. It fails on a manifest Parse would
// refuse.
func Encode(m *Manifest) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 256+len(m.Entries)*160)
	b = append(b, `{"format":`...)
	b = quote(b, Format)
	b = append(b, `,"name":`...)
	b = quote(b, m.Name)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, m.Sequence, 10)
	b = append(b, `,"issued_at":`...)
	b = quote(b, m.IssuedAt.UTC().Format(timeLayout))
	b = append(b, `,"expires_at":`...)
	b = quote(b, m.ExpiresAt.UTC().Format(timeLayout))
	b = append(b, `,"signer":`...)
	b = quote(b, m.Signer)
	b = append(b, `,"uri_prefix":`...)
	b = quote(b, m.URIPrefix)
	b = append(b, `,"entries":[`...)
	for i := range m.Entries {
		e := &m.Entries[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n"+`{"uri":`...)
		b = quote(b, e.URI)
		b = append(b, `,"sha256":"`...)
		b = hex.AppendEncode(b, e.SHA256[:])
		b = append(b, `","size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, `,"mime":`...)
		b = quote(b, e.MIME)
		b = append(b, '}')
	}
	if len(m.Entries) > 0 {
		b = append(b, '\n')
	}
	return append(b, "]}\n"...), nil
}

// quote appends s as a JSON string in RFC 8785's minimal form. validate
// has checked that s is valid UTF-8.
func quote(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

// Parse reads a manifest in canonical form.
func Parse(b []byte) (*Manifest, error) {
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(b), MaxBytes)
	}
	if bytes.Count(b, []byte("\n")) > MaxEntries+2 {
		return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, MaxEntries)
	}
	var w wire
	// The decoder refuses duplicated names, invalid UTF-8 and trailing
	// data; unknown fields are refused too, so that nothing in a signed
	// manifest is ignored.
	if err := json.Unmarshal(b, &w, json.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if w.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrSyntax, w.Format, Format)
	}
	m := &Manifest{Name: w.Name, Sequence: w.Sequence, Signer: w.Signer, URIPrefix: w.URIPrefix,
		Entries: make([]Entry, len(w.Entries))}
	var err error
	if m.IssuedAt, err = parseTime("issued_at", w.IssuedAt); err != nil {
		return nil, err
	}
	if m.ExpiresAt, err = parseTime("expires_at", w.ExpiresAt); err != nil {
		return nil, err
	}
	for i, we := range w.Entries {
		e := &m.Entries[i]
		e.URI, e.Size, e.MIME = we.URI, we.Size, we.MIME
		if len(we.SHA256) != 64 || strings.ToLower(we.SHA256) != we.SHA256 {
			return nil, fmt.Errorf("%w: entry %q: sha256 must be 64 lowercase hex digits", ErrSyntax, we.URI)
		}
		if _, err := hex.Decode(e.SHA256[:], []byte(we.SHA256)); err != nil {
			return nil, fmt.Errorf("%w: entry %q: sha256: %v", ErrSyntax, we.URI, err)
		}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	canon, err := Encode(m)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: %s", ErrNonCanonical, firstDifference(b, canon))
	}
	return m, nil
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not a UTC time like 2026-01-02T15:04:05Z", ErrSyntax, field, s)
	}
	return t, nil
}

// validate checks what Encode and Parse both require.
func (m *Manifest) validate() error {
	if m.Name == "" || len(m.Name) > MaxNameBytes || !printable(m.Name) {
		return fmt.Errorf("%w: name must be 1 to %d printable characters", ErrSyntax, MaxNameBytes)
	}
	if m.Sequence == 0 {
		return fmt.Errorf("%w: sequence must be 1 or more", ErrSyntax)
	}
	if m.IssuedAt.IsZero() || !m.ExpiresAt.After(m.IssuedAt) {
		return fmt.Errorf("%w: expires_at must be after issued_at", ErrSyntax)
	}
	if m.IssuedAt.Year() > 9999 || m.ExpiresAt.Year() > 9999 || m.IssuedAt.Year() < 1 {
		return fmt.Errorf("%w: times must lie in years 1 to 9999", ErrSyntax)
	}
	if !m.IssuedAt.Equal(m.IssuedAt.Truncate(time.Second)) || !m.ExpiresAt.Equal(m.ExpiresAt.Truncate(time.Second)) {
		return fmt.Errorf("%w: times are whole seconds", ErrSyntax)
	}
	if !strings.HasPrefix(m.Signer, signerPrefix) || len(m.Signer) > maxSignerSize || !printable(m.Signer) {
		return fmt.Errorf("%w: signer must be a key fingerprint like SHA256:…", ErrSyntax)
	}
	if len(m.URIPrefix) > MaxURIBytes || !printable(m.URIPrefix) {
		return fmt.Errorf("%w: uri_prefix must be printable and at most %d bytes", ErrSyntax, MaxURIBytes)
	}
	if len(m.Entries) > MaxEntries {
		return fmt.Errorf("%w: %d entries (limit %d)", ErrTooLarge, len(m.Entries), MaxEntries)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.URI == "" || len(e.URI) > MaxURIBytes || !printable(e.URI) {
			return fmt.Errorf("%w: entry %d: uri must be 1 to %d printable characters", ErrSyntax, i, MaxURIBytes)
		}
		if !strings.HasPrefix(e.URI, m.URIPrefix) {
			return fmt.Errorf("%w: entry %q is not under uri_prefix %q", ErrSyntax, e.URI, m.URIPrefix)
		}
		if e.Size < 0 {
			return fmt.Errorf("%w: entry %q: negative size", ErrSyntax, e.URI)
		}
		if len(e.MIME) > MaxMIMEBytes || !printable(e.MIME) {
			return fmt.Errorf("%w: entry %q: mime must be printable and at most %d bytes", ErrSyntax, e.URI, MaxMIMEBytes)
		}
		if i > 0 {
			switch prev := m.Entries[i-1].URI; {
			case prev == e.URI:
				return fmt.Errorf("%w: %q", ErrDuplicate, e.URI)
			case prev > e.URI:
				return fmt.Errorf("%w: entries must be sorted by uri (%q before %q)", ErrNonCanonical, prev, e.URI)
			}
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters,
// so that a name or URI prints as what it is.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// firstDifference says where got departs from the canonical bytes.
func firstDifference(got, canon []byte) string {
	n := 0
	for n < len(got) && n < len(canon) && got[n] == canon[n] {
		n++
	}
	line := bytes.Count(got[:n], []byte("\n")) + 1
	return fmt.Sprintf("line %d, byte %d differs from the canonical encoding", line, n)
}

// SortEntries sorts entries by URI, for a writer building a manifest.
func SortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.URI, b.URI) })
}

// Lookup returns the entry for uri by binary search.
func (m *Manifest) Lookup(uri string) (*Entry, bool) {
	lo, hi := 0, len(m.Entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if m.Entries[mid].URI < uri {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(m.Entries) && m.Entries[lo].URI == uri {
		return &m.Entries[lo], true
	}
	return nil, false
}
