package sshsig

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

var keyTypes = []struct {
	name string
	args []string
}{
	{"ed25519", []string{"-t", "ed25519"}},
	{"ecdsa256", []string{"-t", "ecdsa", "-b", "256"}},
	{"ecdsa384", []string{"-t", "ecdsa", "-b", "384"}},
	{"ecdsa521", []string{"-t", "ecdsa", "-b", "521"}},
	{"rsa", []string{"-t", "rsa", "-b", "3072"}},
}

const manifest = "kb: handbook\nsequence: 7\nsha256: 0123456789abcdef\n"

func TestSignVerifiedBySSHKeygen(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			signer, pub := newKeygenKey(t, dir, "key", kt.args...)
			writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))

			sig, err := Sign([]byte(manifest), signer)
			if err != nil {
				t.Fatal(err)
			}
			line := AllowedSigner{Principals: "owner@example.com", Namespaces: Namespace, Key: pub}.String()
			if ok, out := keygenVerify(t, dir, line+"\n", "owner@example.com", sig, "manifest"); !ok {
				t.Fatalf("ssh-keygen -Y verify rejected our signature:\n%s\nallowed_signers: %s\nsignature:\n%s", out, line, sig)
			}

			// And our own reading of it.
			parsed, err := ParseSignature(sig)
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.Verify([]byte(manifest)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(parsed.Key().Marshal(), pub.Marshal()) {
				t.Fatal("Key() is not the signing key")
			}
		})
	}
}

// Ed25519 signatures are deterministic, so ours must be exactly what
// ssh-keygen writes, armor included.
func TestSignIsByteCompatibleWithSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	signer, _ := newKeygenKey(t, dir, "key", "-t", "ed25519")
	for _, msg := range []string{"", "x", manifest, strings.Repeat("long manifest ", 1000)} {
		writeFile(t, filepath.Join(dir, "manifest"), []byte(msg))
		want := keygenSign(t, dir, "key", Namespace, "manifest")
		got, err := Sign([]byte(msg), signer)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %.20q: Sign wrote\n%s\nssh-keygen wrote\n%s", msg, got, want)
		}
	}
}

func TestSSHKeygenSignatureVerifies(t *testing.T) {
	now := time.Now()
	for _, kt := range keyTypes {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, pub := newKeygenKey(t, dir, "key", kt.args...)
			writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
			sig, err := ParseSignature(keygenSign(t, dir, "key", Namespace, "manifest"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify([]byte(manifest)); err != nil {
				t.Fatal(err)
			}
			signers := []AllowedSigner{
				{Principals: "someone-else@example.com", Key: goKey(t).PublicKey()},
				{Principals: "owner@example.com", Namespaces: Namespace, Key: pub},
			}
			if got := Authorize(signers, sig.Key(), Namespace, now); !slices.Equal(got, []string{"owner@example.com"}) {
				t.Fatalf("Authorize = %q, want [owner@example.com]", got)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	dir := t.TempDir()
	_, pub := newKeygenKey(t, dir, "key", "-t", "ed25519")
	_, otherPub := newKeygenKey(t, dir, "other", "-t", "ed25519")
	writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
	good := keygenSign(t, dir, "key", Namespace, "manifest")
	trusted := []AllowedSigner{{Principals: "owner@example.com", Key: pub}}

	t.Run("tampered message", func(t *testing.T) {
		for i := range len(manifest) {
			msg := []byte(manifest)
			msg[i] ^= 1
			sig, err := ParseSignature(good)
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(msg); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("byte %d flipped: Verify = %v, want ErrInvalidSignature", i, err)
			}
		}
		// ssh-keygen agrees.
		writeFile(t, filepath.Join(dir, "tampered"), []byte(strings.Replace(manifest, "7", "8", 1)))
		if ok, _ := keygenVerify(t, dir, trusted[0].String()+"\n", "owner@example.com", good, "tampered"); ok {
			t.Fatal("ssh-keygen accepted a tampered message")
		}
	})

	t.Run("other namespace", func(t *testing.T) {
		sig, err := ParseSignature(keygenSign(t, dir, "key", "file", "manifest"))
		if err != nil {
			t.Fatal(err)
		}
		err = sig.Verify([]byte(manifest))
		if !errors.Is(err, ErrWrongNamespace) || !strings.Contains(err.Error(), `"file"`) || !strings.Contains(err.Error(), `"ctxguard-kb"`) {
			t.Fatalf("Verify = %v, want ErrWrongNamespace naming both namespaces", err)
		}
	})

	t.Run("other key", func(t *testing.T) {
		sig, err := ParseSignature(keygenSign(t, dir, "other", Namespace, "manifest"))
		if err != nil {
			t.Fatal(err)
		}
		// A valid signature; only Authorize knows the key is not trusted.
		if err := sig.Verify([]byte(manifest)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sig.Key().Marshal(), otherPub.Marshal()) {
			t.Fatal("Key() is not the other key")
		}
		if got := Authorize(trusted, sig.Key(), Namespace, time.Now()); len(got) != 0 {
			t.Fatalf("Authorize = %q for an untrusted key", got)
		}
	})

	t.Run("key swapped into signature", func(t *testing.T) {
		// The signature blob names its key; replacing it with a trusted key
		// must not make the signature pass as that key's.
		wire := decodeArmor(t, good)
		i := bytes.Index(wire, pub.Marshal())
		if i < 0 {
			t.Fatal("key not found in the signature")
		}
		forged := slices.Concat(wire[:i], otherPub.Marshal(), wire[i+len(pub.Marshal()):])
		sig, err := ParseSignature(armor(forged))
		if err != nil {
			t.Fatal(err)
		}
		if err := sig.Verify([]byte(manifest)); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
		}
	})

	t.Run("corrupted signature bytes", func(t *testing.T) {
		wire := decodeArmor(t, good)
		for i := range wire {
			bad := slices.Clone(wire)
			bad[i] ^= 0x40
			sig, err := ParseSignature(armor(bad))
			if err != nil {
				continue // refused when parsing: fine
			}
			if err := sig.Verify([]byte(manifest)); err == nil {
				t.Fatalf("byte %d of the signature flipped: still verifies", i)
			}
		}
	})

	t.Run("truncated", func(t *testing.T) {
		for n := range len(good) - 1 {
			sig, err := ParseSignature(good[:n])
			if err == nil && sig.Verify([]byte(manifest)) == nil {
				t.Fatalf("signature cut to %d bytes still verifies", n)
			}
		}
		wire := decodeArmor(t, good)
		for n := range len(wire) {
			if _, err := ParseSignature(armor(wire[:n])); err == nil {
				t.Fatalf("signature blob cut to %d bytes parses", n)
			}
		}
	})

	t.Run("trailing data in signature blob", func(t *testing.T) {
		wire := decodeArmor(t, good)
		if _, err := ParseSignature(armor(append(wire, 0))); err == nil {
			t.Fatal("a byte after the signature blob was accepted")
		}
	})
}

func decodeArmor(t *testing.T, armored []byte) []byte {
	t.Helper()
	wire, err := unarmor(armored)
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

func TestParseSignatureErrors(t *testing.T) {
	dir := t.TempDir()
	signer, _ := newKeygenKey(t, dir, "key", "-t", "ed25519")
	good, err := Sign([]byte(manifest), signer)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(strings.TrimSuffix(string(good), armorEnd+"\n"), armorBegin+"\n")
	wire := decodeArmor(t, good)

	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty signature"},
		{"blank", " \n\n", "empty signature"},
		{"not armored", "hello\n", "not an armored SSH signature"},
		{"raw base64", body, "not an armored SSH signature"},
		{"text before", "Signed by me\n" + string(good), "not an armored SSH signature"},
		{"wrong PEM type", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + body + "-----END OPENSSH PRIVATE KEY-----\n", `PEM block is "OPENSSH PRIVATE KEY"`},
		{"wrong END", armorBegin + "\n" + body + "-----END PGP SIGNATURE-----\n", `unexpected "-----END PGP SIGNATURE-----"`},
		{"missing END", armorBegin + "\n" + body, "missing"},
		{"empty body", armorBegin + "\n" + armorEnd + "\n", "empty SSH signature block"},
		{"bad base64", armorBegin + "\n" + strings.Replace(body, "A", "*", 1) + armorEnd + "\n", "bad base64"},
		{"bad padding", armorBegin + "\n" + strings.TrimRight(body, "=\n") + "\n" + armorEnd + "\n", "bad base64"},
		{"PEM headers", armorBegin + "\nComment: hi\n\n" + body + armorEnd + "\n", "bad base64"},
		{"trailing garbage", string(good) + "garbage\n", "trailing data"},
		{"two signatures", string(good) + string(good), "trailing data"},
		{"not a signature", string(armor([]byte("SSHSIG but not really"))), "malformed signature"},
		{"wrong magic", string(armor(append([]byte("SSHSIX"), wire[6:]...))), "malformed signature"},
		{"version 2", string(armor(slices.Concat(wire[:9], []byte{2}, wire[10:]))), "malformed signature"},
		{"too large", armorBegin + "\n" + strings.Repeat(strings.Repeat("A", 68)+"\n", 1000) + armorEnd + "\n", "more than the 65536 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSignature([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseSignature = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Signatures that went through other tools (encoding/pem's 64 columns, a
// Windows editor's CRLF, an extra newline) are the same signature.
func TestParseSignatureTolerantLayout(t *testing.T) {
	signer := goKey(t)
	good, err := Sign([]byte(manifest), signer)
	if err != nil {
		t.Fatal(err)
	}
	wire := decodeArmor(t, good)
	pem64 := pem.EncodeToMemory(&pem.Block{Type: "SSH SIGNATURE", Bytes: wire})
	for name, in := range map[string][]byte{
		"ssh-keygen": good,
		"pem 64":     pem64,
		"crlf":       bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")),
		"one line":   []byte(armorBegin + "\n" + base64.StdEncoding.EncodeToString(wire) + "\n" + armorEnd),
		"blank ends": append(append([]byte("\n\n"), good...), "\n \n"...),
	} {
		sig, err := ParseSignature(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sig.Verify([]byte(manifest)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestSignWithCertificate(t *testing.T) {
	for _, kt := range []struct {
		name string
		args []string
	}{
		{"ed25519", []string{"-t", "ed25519"}},
		// An RSA certificate must still sign with rsa-sha2-512, not SHA-1.
		{"rsa", []string{"-t", "rsa", "-b", "3072"}},
	} {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, caPub := newKeygenKey(t, dir, "ca", "-t", "ed25519")
			userSigner, _ := newKeygenKey(t, dir, "user", kt.args...)
			mustKeygen(t, dir, nil, "-q", "-s", "ca", "-I", "alice-laptop", "-n", "alice,bob", "-V", "-1h:+1h", "user.pub")
			certKey, err := ParsePublicKey(readFile(t, filepath.Join(dir, "user-cert.pub")))
			if err != nil {
				t.Fatal(err)
			}
			cert := certKey.(*ssh.Certificate)
			certSigner, err := ssh.NewCertSigner(cert, userSigner)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
			sig, err := Sign([]byte(manifest), certSigner)
			if err != nil {
				t.Fatal(err)
			}
			ca := AllowedSigner{Principals: "alice", CertAuthority: true, Key: caPub}
			if ok, out := keygenVerify(t, dir, ca.String()+"\n", "alice", sig, "manifest"); !ok {
				t.Fatalf("ssh-keygen rejected a certificate signature: %s", out)
			}
			parsed, err := ParseSignature(sig)
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.Verify([]byte(manifest)); err != nil {
				t.Fatal(err)
			}
			if _, ok := parsed.Key().(*ssh.Certificate); !ok {
				t.Fatalf("Key() is a %T, want the certificate", parsed.Key())
			}
			if got := Authorize([]AllowedSigner{ca}, parsed.Key(), Namespace, time.Now()); !slices.Equal(got, []string{"alice"}) {
				t.Fatalf("Authorize = %q, want [alice]", got)
			}
		})
	}
}

func TestSSHKeygenCertificateSignature(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, caPub := newKeygenKey(t, dir, "ca", "-t", "ed25519")
			newKeygenKey(t, dir, "user", kt.args...)
			mustKeygen(t, dir, nil, "-q", "-s", "ca", "-I", "alice-laptop", "-n", "alice,bob", "-V", "-1h:+1h", "user.pub")
			writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
			// Given the certificate, ssh-keygen signs with the private key
			// beside it (user) and embeds the certificate.
			sig, err := ParseSignature(keygenSign(t, dir, "user-cert.pub", Namespace, "manifest"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify([]byte(manifest)); err != nil {
				t.Fatal(err)
			}
			cert, ok := sig.Key().(*ssh.Certificate)
			if !ok {
				t.Fatalf("Key() is a %T, want a certificate", sig.Key())
			}
			if cert.KeyId != "alice-laptop" {
				t.Fatalf("KeyId = %q", cert.KeyId)
			}
			signers := []AllowedSigner{{Principals: "*", CertAuthority: true, Namespaces: Namespace, Key: caPub}}
			if got := Authorize(signers, sig.Key(), Namespace, time.Now()); !slices.Equal(got, []string{"alice", "bob"}) {
				t.Fatalf("Authorize = %q, want [alice bob]", got)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	if _, err := Sign([]byte("x"), nil); err == nil {
		t.Fatal("Sign with a nil signer succeeded")
	}
}
