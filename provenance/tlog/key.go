package tlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// PublicPath is where a copy of the verifier key of the key at path is
// kept, for people to take elsewhere.
func PublicPath(path string) string { return path + ".pub" }

// keyWait bounds how long LoadOrCreateKey waits for a key file another
// process is creating.
const keyWait = 3 * time.Second

// LoadOrCreateKey reads the signing key at path, or, when there is none,
// generates one named name and writes it (owner-only), with a copy of its
// verifier key next to it. Several processes may race to create it (an IDE
// starts many wrap processes at once): the key appears whole or not at all
// (written aside, then linked into place, which fails if another process
// got there first), and the verifier key is always derived from it, never
// read from the copy, so the two cannot disagree.
func LoadOrCreateKey(path, name string) (*Key, error) {
	if k, err := loadKey(path); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("tlog: generate key %q: %w", name, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".audit-key-*")
	if err != nil {
		return nil, fmt.Errorf("tlog: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(skey + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if err2 := tmp.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return nil, fmt.Errorf("tlog: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("tlog: create key: %w", err)
	}
	// Ours or the winner's: the file now holds a whole key.
	return loadKey(path)
}

// loadKey reads the key at path, waiting briefly while it is empty (an
// older ctxguard may be writing it in place), and refreshes the public
// copy when it is missing or stale.
func loadKey(path string) (*Key, error) {
	deadline := time.Now().Add(keyWait)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			return nil, fmt.Errorf("tlog: read key: %w", err)
		}
		k, err := parseKey(path, b)
		if err == nil || len(strings.TrimSpace(string(b))) > 0 || time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			if pub, err := os.ReadFile(PublicPath(path)); err != nil || strings.TrimSpace(string(pub)) != k.Public {
				writePublic(path, k.Public) // a convenience copy: failing to write it is not fatal
			}
			return k, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writePublic(path, public string) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-pub-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(public + "\n")
	if err2 := tmp.Close(); err == nil && err2 == nil {
		os.Chmod(tmp.Name(), 0o644)
		os.Rename(tmp.Name(), PublicPath(path))
	}
}

func parseKey(path string, b []byte) (*Key, error) {
	skey := strings.TrimSpace(string(b))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("tlog: %s is not a signing key (%v)", path, err)
	}
	public, err := verifierKey(skey)
	if err != nil {
		return nil, fmt.Errorf("tlog: %s: %w", path, err)
	}
	v, err := ParseVerifier(public)
	if err != nil {
		return nil, err
	}
	return &Key{Signer: s, Verifier: v, Public: public}, nil
}

// verifierKey derives the verifier key from a signing key
// (PRIVATE+KEY+name+hash+base64 of the algorithm byte and the Ed25519 seed).
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // base64 may hold "+" too
	if len(parts) != 5 {
		return "", errors.New("not a signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("not an Ed25519 signing key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
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
