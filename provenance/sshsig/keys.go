package sshsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrPassphraseNeeded is wrapped by ParsePrivateKey's error when the key is
// encrypted and no passphrase was given, so a caller can prompt and retry.
var ErrPassphraseNeeded = errors.New("sshsig: private key is encrypted; a passphrase is needed")

// GenerateKey makes a new Ed25519 key: private in OpenSSH PEM format (encrypted with passphrase when non-empty, as ssh-keygen does), public in authorized_keys format ("ssh-ed25519 AAAA... comment\n").
//
// Ed25519 because it is ssh-keygen's default, its signatures are
// deterministic and small, and there is no parameter to get wrong.
func GenerateKey(comment string, passphrase []byte) (private, public []byte, err error) {
	// A line break would end the .pub line early and turn the rest of the
	// comment into a second, malformed key line.
	if strings.ContainsAny(comment, "\r\n\x00") {
		return nil, nil, errors.New("sshsig: key comment must not contain line breaks or NUL")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: generate key: %w", err)
	}
	var block *pem.Block
	if len(passphrase) > 0 {
		// x/crypto encrypts as ssh-keygen does by default: aes256-ctr with a
		// bcrypt-pbkdf key of 16 rounds.
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, comment, passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(priv, comment)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: encode private key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: encode public key: %w", err)
	}
	return pem.EncodeToMemory(block), authorizedKey(sshPub, comment), nil
}

// authorizedKey is ssh.MarshalAuthorizedKey with the comment ssh-keygen
// writes, so the .pub file says whose key it is.
func authorizedKey(k ssh.PublicKey, comment string) []byte {
	line := bytes.TrimSuffix(ssh.MarshalAuthorizedKey(k), []byte("\n"))
	if comment != "" {
		line = append(line, ' ')
		line = append(line, comment...)
	}
	return append(line, '\n')
}

// ParsePrivateKey reads an OpenSSH (or PEM) private key; an encrypted key without a passphrase returns an error wrapping ErrPassphraseNeeded.
//
// A passphrase given for an unencrypted key is ignored, as ssh-keygen -P
// does, so a caller that always asks for one still works.
func ParsePrivateKey(pemBytes, passphrase []byte) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err == nil {
		return signer, nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Errorf("sshsig: parse private key: %w", err)
	}
	if len(passphrase) == 0 {
		return nil, ErrPassphraseNeeded
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, passphrase)
	if err != nil {
		// Wrapped, so errors.Is(err, x509.IncorrectPasswordError) tells a
		// wrong passphrase from a damaged key.
		return nil, fmt.Errorf("sshsig: decrypt private key: %w", err)
	}
	return signer, nil
}

// ParsePublicKey reads an authorized_keys-format public key (one line, a .pub file).
//
// Key options (from=, restrict, ...) are refused rather than dropped: they
// restrict logins, mean nothing for signatures, and their presence suggests
// the wrong file was given.
func ParsePublicKey(b []byte) (ssh.PublicKey, error) {
	key, _, options, rest, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("sshsig: parse public key: %w", err)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf("sshsig: parse public key: unexpected options %q before the key", strings.Join(options, ","))
	}
	for _, l := range bytes.Split(rest, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] != '#' {
			return nil, errors.New("sshsig: parse public key: more than one key")
		}
	}
	return key, nil
}

// Fingerprint is the key's "SHA256:..." fingerprint, as ssh-keygen -l prints it.
func Fingerprint(key ssh.PublicKey) string { return ssh.FingerprintSHA256(key) }
