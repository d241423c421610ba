package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctxguard/ctxguard/demo/kb"
	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/provenance/manifest"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

// Owner is the principal the demo signs the knowledge base as.
const Owner = "kb-owner@northwind.example"

// unsigned are the documents published after the owner last signed.
var unsigned = map[string]bool{"onboarding.md": true}

// SignPublished plays the knowledge-base owner: it makes a key, has the
// operator trust it for uriPrefix in dataDir, and signs the documents as
// they were published (kb.Signed where a document changed since) into
// dataDir/manifests/northwind.json. It returns the manifest's path.
//
// Run again on the same data directory, it signs with the same key and the
// next sequence number, as an owner would.
func SignPublished(dataDir, uriPrefix string) (string, error) {
	key, err := ownerKey(dataDir)
	if err != nil {
		return "", err
	}
	trust, err := baseline.LoadTrust(dataDir)
	if err != nil {
		return "", err
	}
	if err := trust.Add(Owner, key.PublicKey(), []string{uriPrefix}); err != nil {
		return "", err
	}
	if err := trust.Save(dataDir); err != nil {
		return "", err
	}
	mdir := filepath.Join(dataDir, "manifests")
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		return "", err
	}
	out := filepath.Join(mdir, "northwind.json")
	b, err := baseline.NewBuilder(out)
	if err != nil {
		return "", err
	}
	defer b.Abort()
	err = fs.WalkDir(kb.Docs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || unsigned[p] {
			return err
		}
		body, err := fs.ReadFile(kb.Signed, path.Join("signed", p))
		if errors.Is(err, fs.ErrNotExist) {
			body, err = fs.ReadFile(kb.Docs, p)
		}
		if err != nil {
			return err
		}
		return b.Add(uriPrefix+p, mimeType(p), body)
	})
	if err != nil {
		return "", fmt.Errorf("demo: sign: %w", err)
	}
	seq := uint64(1)
	if raw, err := os.ReadFile(out); err == nil {
		if m, err := manifest.Parse(raw); err == nil {
			seq = m.Sequence + 1
		}
	}
	now := time.Now()
	h := baseline.Header{Name: "northwind-kb", Sequence: seq, IssuedAt: now.Add(-24 * time.Hour), ExpiresAt: now.Add(90 * 24 * time.Hour),
		Signer: sshsig.Fingerprint(key.PublicKey()), URIPrefix: uriPrefix}
	if _, err := b.Finish(h, key); err != nil {
		return "", err
	}
	return out, nil
}

// ownerKey loads the demo owner's key from dataDir, making it on first use.
func ownerKey(dataDir string) (ssh.Signer, error) {
	path := filepath.Join(dataDir, "demo-owner.key")
	priv, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var pub []byte
		if priv, pub, err = sshsig.GenerateKey(Owner, nil); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, priv, 0o600); err != nil {
			return nil, err
		}
		err = os.WriteFile(path+".pub", pub, 0o644)
	}
	if err != nil {
		return nil, err
	}
	return sshsig.ParsePrivateKey(priv, nil)
}
