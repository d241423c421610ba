package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() *Manifest {
	return &Manifest{
		Name:      "acme-kb",
		Sequence:  7,
		IssuedAt:  time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC),
		ExpiresAt: time.Date(2027, 2, 20, 1, 2, 3, 0, time.UTC),
		Signer:    "SHA256:uH2kmd0ulhbIKo0mwNbBsqz1Dh7YpTbtB5EGmpjzL2s",
		URIPrefix: "file:///kb/",
		Entries: []Entry{
			{URI: "file:///kb/a.md", SHA256: sha256.Sum256([]byte("a")), Size: 1, MIME: "text/markdown"},
			{URI: "file:///kb/café <&>.md", SHA256: sha256.Sum256([]byte("b")), Size: 1, MIME: ""},
			{URI: "file:///kb/z/\"quoted\".txt", SHA256: sha256.Sum256(nil), Size: 0, MIME: "text/plain; charset=utf-8"},
		},
	}
}

func TestEncodeGolden(t *testing.T) {
	m := sample()
	SortEntries(m.Entries)
	got, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "manifest.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode differs from %s:\n%s", golden, got)
	}
	back, err := Parse(want)
	if err != nil {
		t.Fatalf("Parse(golden): %v", err)
	}
	again, _ := Encode(back)
	if !bytes.Equal(again, want) {
		t.Fatal("Parse then Encode does not reproduce the golden bytes")
	}
	if e, ok := back.Lookup("file:///kb/café <&>.md"); !ok || e.SHA256 != sha256.Sum256([]byte("b")) {
		t.Fatalf("Lookup: %v %v", e, ok)
	}
	if _, ok := back.Lookup("file:///kb/b.md"); ok {
		t.Fatal("Lookup found an entry that is not there")
	}
}

func TestEncodeEmpty(t *testing.T) {
	m := sample()
	m.Entries = nil
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte(`"entries":[]}`+"\n")) {
		t.Fatalf("empty manifest: %s", b)
	}
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
}

// TestParseRefuses changes the canonical bytes of the golden manifest in
// one way each and expects Parse to refuse them with the given error.
func TestParseRefuses(t *testing.T) {
	m := sample()
	SortEntries(m.Entries)
	canon, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	c := string(canon)
	hexA := fmt.Sprintf("%x", sha256.Sum256([]byte("a")))
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"extra space", strings.Replace(c, `"name":`, `"name": `, 1), ErrNonCanonical},
		{"CRLF", strings.ReplaceAll(c, "\n", "\r\n"), ErrNonCanonical},
		{"no final newline", strings.TrimSuffix(c, "\n"), ErrNonCanonical},
		{"fields reordered", strings.Replace(c, `"format":"ctxguard-manifest/1","name":"acme-kb"`, `"name":"acme-kb","format":"ctxguard-manifest/1"`, 1), ErrNonCanonical},
		{"escaped character", strings.Replace(c, "café", `caf\u00e9`, 1), ErrNonCanonical},
		{"escaped slash", strings.Replace(c, `"file:///kb/a.md"`, `"file:\/\/\/kb\/a.md"`, 1), ErrNonCanonical},
		{"uppercase hex", strings.Replace(c, hexA, strings.ToUpper(hexA), 1), ErrSyntax},
		{"short hex", strings.Replace(c, hexA, hexA[:62], 1), ErrSyntax},
		{"size with exponent", strings.Replace(c, `"size":1,`, `"size":1e0,`, 1), ErrSyntax},
		{"size with leading zero", strings.Replace(c, `"size":1,`, `"size":01,`, 1), ErrSyntax},
		{"negative size", strings.Replace(c, `"size":1,`, `"size":-1,`, 1), ErrSyntax},
		{"unsorted entries", swapFirstEntries(c), ErrNonCanonical},
		{"duplicated entry", duplicateFirstEntry(c), ErrDuplicate},
		{"duplicated key", strings.Replace(c, `"name":"acme-kb"`, `"name":"acme-kb","name":"evil-kb"`, 1), ErrSyntax},
		{"unknown field", strings.Replace(c, `"name":"acme-kb"`, `"name":"acme-kb","comment":"x"`, 1), ErrSyntax},
		{"unknown entry field", strings.Replace(c, `"mime":"text/markdown"`, `"mime":"text/markdown","x":1`, 1), ErrSyntax},
		{"trailing data", c + "{}", ErrSyntax},
		{"two documents", c + c, ErrSyntax},
		{"other format", strings.Replace(c, "ctxguard-manifest/1", "ctxguard-manifest/2", 1), ErrSyntax},
		{"zero sequence", strings.Replace(c, `"sequence":7`, `"sequence":0`, 1), ErrSyntax},
		{"sequence overflow", strings.Replace(c, `"sequence":7`, `"sequence":18446744073709551616`, 1), ErrSyntax},
		{"local time", strings.Replace(c, `2026-11-22T01:02:03Z`, `2026-11-22T01:02:03+01:00`, 1), ErrSyntax},
		{"fractional time", strings.Replace(c, `2026-11-22T01:02:03Z`, `2026-11-22T01:02:03.5Z`, 1), ErrSyntax},
		{"expiry before issue", strings.Replace(c, `2027-02-20`, `2025-02-20`, 1), ErrSyntax},
		{"empty name", strings.Replace(c, `"name":"acme-kb"`, `"name":""`, 1), ErrSyntax},
		{"control character in name", strings.Replace(c, `"name":"acme-kb"`, `"name":"acme\u001b[2Jkb"`, 1), ErrSyntax},
		{"bidi override in uri", strings.Replace(c, `file:///kb/a.md`, "file:///kb/a\u202e.md", 1), ErrSyntax},
		{"invalid UTF-8", strings.Replace(c, `acme-kb`, "acme\xff-kb", 1), ErrSyntax},
		{"entry outside prefix", strings.Replace(c, `file:///kb/a.md`, `file:///etc/a.md`, 1), ErrSyntax},
		{"signer not a fingerprint", strings.Replace(c, `"signer":"SHA256:`, `"signer":"MD5:`, 1), ErrSyntax},
		{"null entries", strings.Replace(c, `"entries":[`, `"entries":null,"x":[`, 1), ErrSyntax},
		{"not JSON", "ctxguard-manifest/1\n", ErrSyntax},
		{"empty", "", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == c {
				t.Fatal("the case did not change the manifest")
			}
			_, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func swapFirstEntries(c string) string {
	lines := strings.Split(c, "\n")
	// lines[1] and lines[2] are the first two entries; keep the commas.
	a, b := strings.TrimSuffix(lines[1], ","), strings.TrimSuffix(lines[2], ",")
	lines[1], lines[2] = b+",", a+","
	return strings.Join(lines, "\n")
}

func duplicateFirstEntry(c string) string {
	lines := strings.Split(c, "\n")
	lines = append(lines[:2], lines[1:]...)
	return strings.Join(lines, "\n")
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Manifest)
		want error
	}{
		{"unsorted", func(m *Manifest) { m.Entries[0], m.Entries[1] = m.Entries[1], m.Entries[0] }, ErrNonCanonical},
		{"duplicate", func(m *Manifest) { m.Entries[1].URI = m.Entries[0].URI }, ErrDuplicate},
		{"sub-second time", func(m *Manifest) { m.IssuedAt = m.IssuedAt.Add(time.Millisecond) }, ErrSyntax},
		{"empty uri", func(m *Manifest) { m.URIPrefix = ""; m.Entries[0].URI = "" }, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			SortEntries(m.Entries)
			tt.edit(m)
			if _, err := Encode(m); !errors.Is(err, tt.want) {
				t.Fatalf("Encode: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestLarge round-trips a manifest of 100,000 entries.
func TestLarge(t *testing.T) {
	m := sample()
	m.Entries = make([]Entry, 100_000)
	for i := range m.Entries {
		m.Entries[i] = Entry{URI: fmt.Sprintf("file:///kb/doc-%06d.md", i), SHA256: sha256.Sum256(fmt.Appendf(nil, "%d", i)), Size: int64(i), MIME: "text/markdown"}
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Entries) != 100_000 {
		t.Fatalf("%d entries", len(back.Entries))
	}
	for _, i := range []int{0, 4711, 99_999} {
		e, ok := back.Lookup(fmt.Sprintf("file:///kb/doc-%06d.md", i))
		if !ok || e.Size != int64(i) || e.SHA256 != sha256.Sum256(fmt.Appendf(nil, "%d", i)) {
			t.Fatalf("entry %d: %+v %v", i, e, ok)
		}
	}
}

func BenchmarkParse100k(b *testing.B) {
	m := sample()
	m.Entries = make([]Entry, 100_000)
	for i := range m.Entries {
		m.Entries[i] = Entry{URI: fmt.Sprintf("file:///kb/doc-%06d.md", i), SHA256: sha256.Sum256(fmt.Appendf(nil, "%d", i)), Size: int64(i), MIME: "text/markdown"}
	}
	raw, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
