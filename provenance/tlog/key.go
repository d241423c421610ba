package tlog

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key is the instance's signing key for checkpoints.
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	// Public is the verifier key as text (name+hash+key), for keeping
	// elsewhere and passing to audit verify --key.
	Public string
}

// PublicPath is where the verifier key of the key at path is kept.
func PublicPath(path string) string { return path + ".pub" }

// LoadOrCreateKey reads the signing key at path, or, when there is none,
// generates one named name and writes it (owner-only) with its verifier key
// next to it. Several processes may race to create it: one wins, the others
// read its key.
func LoadOrCreateKey(path, name string) (*Key, error) {
	if b, err := os.ReadFile(path); err == nil {
		return parseKey(path, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tlog: read key: %w", err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("tlog: generate key %q: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	// The public half first, so that whoever finds the private key also
	// finds the public one.
	if err := os.WriteFile(PublicPath(path)+".tmp", []byte(vkey+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("tlog: write key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		os.Remove(PublicPath(path) + ".tmp")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tlog: read key: %w", err)
		}
		return parseKey(path, b)
	}
	if err != nil {
		return nil, fmt.Errorf("tlog: create key: %w", err)
	}
	if err := os.Rename(PublicPath(path)+".tmp", PublicPath(path)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("tlog: write key: %w", err)
	}
	_, err = f.WriteString(skey + "\n")
	if err2 := f.Sync(); err == nil {
		err = err2
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("tlog: write key: %w", err)
	}
	return parseKey(path, []byte(skey))
}

func parseKey(path string, b []byte) (*Key, error) {
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("tlog: %s is not a signing key (%v)", path, err)
	}
	pub, err := os.ReadFile(PublicPath(path))
	if err != nil {
		return nil, fmt.Errorf("tlog: the key's public half: %w", err)
	}
	v, err := ParseVerifier(string(pub))
	if err != nil {
		return nil, err
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, fmt.Errorf("tlog: %s does not belong to %s", PublicPath(path), path)
	}
	return &Key{Signer: s, Verifier: v, Public: strings.TrimSpace(string(pub))}, nil
}

// ParseVerifier reads a verifier key (name+hash+key) as written next to a
// signing key.
func ParseVerifier(text string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("tlog: not a verifier key (name+hash+key): %v", err)
	}
	return v, nil
}

// KeyName makes a valid key name from s (a host name, say): note key names
// may not hold '+' or spaces.
func KeyName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, s)
	if s == "" {
		s = "local"
	}
	return "ctxguard-" + s
}
