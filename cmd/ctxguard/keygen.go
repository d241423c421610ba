package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

type keygenCmd struct {
	Out           string `name:"out" required:"" placeholder:"FILE" type:"path" help:"Where to write the private key (mode 0600); the public key goes to FILE.pub."`
	Comment       string `name:"comment" placeholder:"TEXT" help:"Comment in the public key (default: user@host)."`
	PassphraseEnv string `name:"passphrase-env" placeholder:"VAR" help:"Encrypt the private key with the passphrase in this environment variable (never on the command line)."`
	Force         bool   `name:"force" help:"Overwrite existing key files."`
}

func (c *keygenCmd) Run(g *Globals) error {
	comment := c.Comment
	if comment == "" {
		comment = defaultComment()
	}
	pass, err := passphrase(c.PassphraseEnv)
	if err != nil {
		return err
	}
	priv, pub, err := sshsig.GenerateKey(comment, pass)
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	} else {
		// Both files are checked before either is written, so that a
		// refusal leaves no half of a key pair behind.
		for _, p := range []string{c.Out, c.Out + ".pub"} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("keygen: %s exists; use --force to overwrite", p)
			}
		}
	}
	if err := writeNew(c.Out, priv, 0o600, flags); err != nil {
		return err
	}
	if err := writeNew(c.Out+".pub", pub, 0o644, flags); err != nil {
		// A private key without its public half is of no use and would
		// block the next attempt.
		os.Remove(c.Out)
		return err
	}
	key, err := sshsig.ParsePublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Ed25519 key %s\n  private: %s\n  public:  %s.pub\nTrust it with:\n  ctxguard trust add --principal NAME --key %s.pub --scope URI-PREFIX\n",
		sshsig.Fingerprint(key), c.Out, c.Out, c.Out)
	return nil
}

func writeNew(path string, b []byte, mode os.FileMode, flags int) error {
	f, err := os.OpenFile(path, flags, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keygen: %s exists; use --force to overwrite", path)
	}
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("keygen: %w", err)
	}
	if err := f.Chmod(mode); err != nil { // O_TRUNC keeps an old file's mode
		f.Close()
		return err
	}
	return f.Close()
}

func defaultComment() string {
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	if user == "" {
		user = "ctxguard"
	}
	if host == "" {
		return user
	}
	return user + "@" + host
}

// passphrase reads a passphrase from the named environment variable; none
// when the name is empty.
func passphrase(env string) ([]byte, error) {
	if env == "" {
		return nil, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok || v == "" {
		return nil, fmt.Errorf("the passphrase variable %s is not set", env)
	}
	return []byte(v), nil
}
