package sshsig

import (
	"bytes"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateKeyUsableBySSHKeygen(t *testing.T) {
	for _, pass := range []string{"", "correct horse battery staple"} {
		name := "no passphrase"
		if pass != "" {
			name = "passphrase"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			priv, pub, err := GenerateKey("kb-owner@example.com", []byte(pass))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(priv, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
				t.Fatalf("private key is not in OpenSSH format:\n%s", priv)
			}
			if !bytes.HasPrefix(pub, []byte("ssh-ed25519 AAAA")) || !bytes.HasSuffix(pub, []byte(" kb-owner@example.com\n")) {
				t.Fatalf("public key = %q", pub)
			}
			writeFile(t, filepath.Join(dir, "key"), priv)
			writeFile(t, filepath.Join(dir, "key.pub"), pub)

			// ssh-keygen derives the same public key (and reads our comment).
			args := []string{"-y", "-f", "key"}
			if pass != "" {
				args = append(args, "-P", pass)
			}
			if got := mustKeygen(t, dir, nil, args...); got != string(pub) {
				t.Fatalf("ssh-keygen -y = %q, want %q", got, pub)
			}
			if pass != "" {
				if _, _, err := runKeygen(t, dir, nil, nil, "-y", "-f", "key", "-P", "wrong"); err == nil {
					t.Fatal("ssh-keygen read the key with a wrong passphrase")
				}
			}

			// ssh-keygen signs with it; an askpass program answers the
			// passphrase prompt, since -Y sign has no -P.
			writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
			env := []string{"SSH_ASKPASS_REQUIRE=never"}
			if pass != "" {
				writeFile(t, filepath.Join(dir, "pass"), []byte(pass))
				writeFile(t, filepath.Join(dir, "askpass"), []byte("#!/bin/sh\nexec cat \"$(dirname \"$0\")/pass\"\n"))
				chmodX(t, filepath.Join(dir, "askpass"))
				env = []string{"SSH_ASKPASS=" + filepath.Join(dir, "askpass"), "SSH_ASKPASS_REQUIRE=force", "DISPLAY="}
			}
			if out, errOut, err := runKeygen(t, dir, env, nil, "-Y", "sign", "-n", Namespace, "-f", "key", "manifest"); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s%s", err, out, errOut)
			}
			sig, err := ParseSignature(readFile(t, filepath.Join(dir, "manifest.sig")))
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify([]byte(manifest)); err != nil {
				t.Fatal(err)
			}
			pubKey, err := ParsePublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := Authorize([]AllowedSigner{{Principals: "owner", Key: pubKey}}, sig.Key(), Namespace, time.Now()); len(got) != 1 {
				t.Fatalf("Authorize = %q", got)
			}

			// And we read it back.
			if pass != "" {
				if _, err := ParsePrivateKey(priv, nil); !errors.Is(err, ErrPassphraseNeeded) {
					t.Fatalf("ParsePrivateKey without passphrase = %v, want ErrPassphraseNeeded", err)
				}
				if _, err := ParsePrivateKey(priv, []byte("wrong")); !errors.Is(err, x509.IncorrectPasswordError) {
					t.Fatalf("ParsePrivateKey with a wrong passphrase = %v, want x509.IncorrectPasswordError", err)
				}
			}
			signer, err := ParsePrivateKey(priv, []byte(pass))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(signer.PublicKey().Marshal(), pubKey.Marshal()) {
				t.Fatal("private and public key differ")
			}
		})
	}
}

func TestGenerateKeyRefusesMultilineComment(t *testing.T) {
	for _, c := range []string{"a\nssh-ed25519 AAAA evil", "a\rb", "a\x00b"} {
		if _, _, err := GenerateKey(c, nil); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", c)
		}
	}
	_, pub, err := GenerateKey("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(pub), " ") != 1 || !strings.HasSuffix(string(pub), "\n") {
		t.Fatalf("public key without comment = %q", pub)
	}
}

func TestParsePrivateKeyFromSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	mustKeygen(t, dir, nil, "-q", "-t", "ed25519", "-N", "sekrit", "-f", "enc")
	mustKeygen(t, dir, nil, "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", "pemrsa")
	mustKeygen(t, dir, nil, "-q", "-t", "ecdsa", "-N", "", "-f", "plain")

	enc := readFile(t, filepath.Join(dir, "enc"))
	if _, err := ParsePrivateKey(enc, nil); !errors.Is(err, ErrPassphraseNeeded) {
		t.Fatalf("encrypted key without passphrase: %v, want ErrPassphraseNeeded", err)
	}
	if _, err := ParsePrivateKey(enc, []byte("wrong")); err == nil || errors.Is(err, ErrPassphraseNeeded) {
		t.Fatalf("encrypted key with wrong passphrase: %v", err)
	}
	for name, pass := range map[string]string{"enc": "sekrit", "pemrsa": "", "plain": "", "plain with passphrase": "ignored"} {
		file := strings.TrimSuffix(name, " with passphrase")
		signer, err := ParsePrivateKey(readFile(t, filepath.Join(dir, file)), []byte(pass))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pub, err := ParsePublicKey(readFile(t, filepath.Join(dir, file+".pub")))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(signer.PublicKey().Marshal(), pub.Marshal()) {
			t.Fatalf("%s: private and public key differ", name)
		}
	}
	if _, err := ParsePrivateKey([]byte("not a key"), nil); err == nil {
		t.Fatal("garbage parsed as a private key")
	}
}

func TestParsePublicKey(t *testing.T) {
	dir := t.TempDir()
	mustKeygen(t, dir, nil, "-q", "-t", "ed25519", "-N", "", "-C", "me@example.com", "-f", "key")
	pubFile := readFile(t, filepath.Join(dir, "key.pub"))
	key, err := ParsePublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != "ssh-ed25519" {
		t.Fatalf("type %q", key.Type())
	}
	// Without comment or trailing newline, and after a comment line.
	fields := strings.Fields(string(pubFile))
	for _, in := range []string{fields[0] + " " + fields[1], "# mine\n" + string(pubFile), string(pubFile) + "\n\n"} {
		if _, err := ParsePublicKey([]byte(in)); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
	}
	for name, in := range map[string]string{
		"empty":    "",
		"garbage":  "hello world\n",
		"bad data": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n",
		"options":  `from="10.0.0.1" ` + string(pubFile),
		"two keys": string(pubFile) + string(pubFile),
	} {
		if _, err := ParsePublicKey([]byte(in)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestFingerprintMatchesSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range keyTypes {
		_, pub := newKeygenKey(t, dir, kt.name, kt.args...)
		out := mustKeygen(t, dir, nil, "-l", "-E", "sha256", "-f", kt.name+".pub")
		// "256 SHA256:... comment (ED25519)"
		if f := strings.Fields(out); len(f) < 2 || f[1] != Fingerprint(pub) {
			t.Fatalf("%s: ssh-keygen -l says %q, Fingerprint %q", kt.name, out, Fingerprint(pub))
		}
	}
}
