package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/ssh"

	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

// The trust store's files in the data directory. allowed_signers is in
// OpenSSH's format, so `ssh-keygen -Y verify -f allowed_signers` reads the
// same trust; the scopes live beside it because OpenSSH has no place for
// them.
const (
	AllowedSignersFile = "allowed_signers"
	ScopesFile         = "trust_scopes.toml"
)

// Trust is who may sign manifests, and for which URIs.
type Trust struct {
	Signers []sshsig.AllowedSigner
	// Scopes are the URI prefixes each principal may sign. A principal
	// without scopes may sign nothing; Unscoped lifts the check (an
	// allowed_signers file given on the command line has no scopes).
	Scopes   map[string][]string
	Unscoped bool
}

type scopesFile struct {
	Principals map[string]struct {
		Scopes []string `toml:"scopes"`
	} `toml:"principals"`
}

// LoadTrust reads the trust store in dir. A missing store is an empty one.
func LoadTrust(dir string) (*Trust, error) {
	t := &Trust{Scopes: map[string][]string{}}
	b, err := os.ReadFile(filepath.Join(dir, AllowedSignersFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("trust store: %w", err)
	default:
		if t.Signers, err = sshsig.ParseAllowedSigners(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("trust store: %s: %w", AllowedSignersFile, err)
		}
	}
	path := filepath.Join(dir, ScopesFile)
	var sf scopesFile
	md, err := toml.DecodeFile(path, &sf)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("trust store: %s: %w", ScopesFile, err)
	case len(md.Undecoded()) > 0:
		return nil, fmt.Errorf("trust store: %s: unknown setting %s", ScopesFile, md.Undecoded()[0])
	}
	for p, s := range sf.Principals {
		for _, sc := range s.Scopes {
			if err := CheckScope(sc); err != nil {
				return nil, fmt.Errorf("trust store: %s: principal %q: %w", ScopesFile, p, err)
			}
		}
		t.Scopes[p] = s.Scopes
	}
	return t, nil
}

// LoadAllowedSigners reads an allowed_signers file on its own: the
// signers it names may sign any URI.
func LoadAllowedSigners(path string) (*Trust, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signers, err := sshsig.ParseAllowedSigners(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Trust{Signers: signers, Unscoped: true}, nil
}

// Add trusts key as principal's for the given scopes: the key is added
// (unless the principal has it already) and the scopes join the
// principal's.
func (t *Trust) Add(principal string, key ssh.PublicKey, scopes []string) error {
	if err := CheckPrincipal(principal); err != nil {
		return err
	}
	if len(scopes) == 0 {
		return errors.New("trust: at least one --scope: a principal without scopes may sign nothing")
	}
	for _, s := range scopes {
		if err := CheckScope(s); err != nil {
			return err
		}
	}
	known := false
	for _, s := range t.Signers {
		if s.Principals == principal && !s.CertAuthority && bytes.Equal(s.Key.Marshal(), key.Marshal()) {
			known = true
		}
	}
	if !known {
		t.Signers = append(t.Signers, sshsig.AllowedSigner{Principals: principal, Namespaces: sshsig.Namespace, Key: key})
	}
	for _, s := range scopes {
		if !slices.Contains(t.Scopes[principal], s) {
			t.Scopes[principal] = append(t.Scopes[principal], s)
		}
	}
	return nil
}

// Remove revokes principal: its lines and scopes go. A line that names
// others too keeps them. It reports whether the principal was trusted.
func (t *Trust) Remove(principal string) bool {
	found := false
	kept := t.Signers[:0]
	for _, s := range t.Signers {
		names := strings.Split(s.Principals, ",")
		if i := slices.Index(names, principal); i >= 0 {
			found = true
			names = slices.Delete(names, i, i+1)
			if len(names) == 0 {
				continue
			}
			s.Principals = strings.Join(names, ",")
		}
		kept = append(kept, s)
	}
	t.Signers = kept
	if _, ok := t.Scopes[principal]; ok {
		found = true
		delete(t.Scopes, principal)
	}
	return found
}

// Save writes the trust store into dir, each file replaced atomically.
func (t *Trust) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var as bytes.Buffer
	as.WriteString("# ctxguard trust store: who may sign knowledge-base manifests (OpenSSH allowed_signers format).\n")
	as.WriteString("# Edit with `ctxguard trust add|rm`; the URI scopes of each principal are in " + ScopesFile + ".\n")
	for _, s := range t.Signers {
		as.WriteString(s.String())
		as.WriteByte('\n')
	}
	var sc bytes.Buffer
	sc.WriteString("# ctxguard trust store: the URI prefixes each principal may sign.\n")
	var sf scopesFile
	sf.Principals = map[string]struct {
		Scopes []string `toml:"scopes"`
	}{}
	for p, s := range t.Scopes {
		sf.Principals[p] = struct {
			Scopes []string `toml:"scopes"`
		}{s}
	}
	if err := toml.NewEncoder(&sc).Encode(sf); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, AllowedSignersFile), as.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ScopesFile), sc.Bytes())
}

// Covers reports whether one of scopes covers uri.
func Covers(scopes []string, uri string) bool {
	for _, s := range scopes {
		if covers(s, uri) {
			return true
		}
	}
	return false
}

// covers reports whether uri lies under the prefix: it starts with it at a
// path boundary ("file:///kb" covers "file:///kb/a" but not
// "file:///kb-private/a"), and what follows does not climb out of it with
// dot segments, which a server might resolve.
func covers(prefix, uri string) bool {
	if !strings.HasPrefix(uri, prefix) {
		return false
	}
	rest := uri[len(prefix):]
	if rest != "" && !strings.HasSuffix(prefix, "/") {
		switch rest[0] {
		case '/', '?', '#':
		default:
			return false
		}
	}
	return !hasDotSegment(rest)
}

func hasDotSegment(p string) bool {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.ReplaceAll(strings.ToLower(p), "%2e", ".")
	p = strings.ReplaceAll(p, "%2f", "/")
	p = strings.ReplaceAll(p, `\`, "/")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// CheckPrincipal refuses names that would not survive an allowed_signers
// line: principals are a comma-separated pattern list there.
func CheckPrincipal(p string) error {
	if p == "" || strings.ContainsAny(p, " \t\r\n,\"*?!#") {
		return fmt.Errorf("trust: principal %q: must be non-empty, without spaces, quotes, commas or the pattern characters * ? !", p)
	}
	return nil
}

// CheckScope refuses prefixes that could not mean what they say.
func CheckScope(s string) error {
	if !strings.Contains(s, ":") {
		return fmt.Errorf("trust: scope %q: must be a URI prefix with a scheme, like file:///kb/", s)
	}
	if !printableURI(s) || hasDotSegment(s) {
		return fmt.Errorf("trust: scope %q: must be printable and without . or .. segments", s)
	}
	return nil
}

func printableURI(s string) bool {
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return false
		}
	}
	return s != ""
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
