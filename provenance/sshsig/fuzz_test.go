package sshsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Signatures made once by ssh-keygen and kept, so that a change in parsing
// shows up even where ssh-keygen is not what made the signature under test.
func TestFixtureSignatures(t *testing.T) {
	dir := filepath.Join("testdata", "signatures")
	msg := readFile(t, filepath.Join(dir, "manifest"))
	ca, err := ParsePublicKey(readFile(t, filepath.Join(dir, "ca.pub")))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ed25519", "ecdsa", "rsa", "ecdsa-cert"} {
		sig, err := ParseSignature(readFile(t, filepath.Join(dir, name+".sig")))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sig.Verify(msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sig.Verify(append(slices.Clone(msg), '\n')); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("%s: Verify of another message = %v", name, err)
		}
	}
	sig, err := ParseSignature(readFile(t, filepath.Join(dir, "ecdsa-cert.sig")))
	if err != nil {
		t.Fatal(err)
	}
	signers := []AllowedSigner{{Principals: "*", CertAuthority: true, Key: ca}}
	if got := Authorize(signers, sig.Key(), Namespace, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("Authorize = %q", got)
	}
	if got := Authorize(signers, sig.Key(), Namespace, time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)); len(got) != 0 {
		t.Fatalf("Authorize after the certificate expired = %q", got)
	}
	sig, err = ParseSignature(readFile(t, filepath.Join(dir, "ed25519-git.sig")))
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Verify(msg); !errors.Is(err, ErrWrongNamespace) {
		t.Fatalf("git signature: Verify = %v", err)
	}
}

func FuzzParseAllowedSigners(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "allowed_signers"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	for _, l := range strings.Split(string(golden), "\n") {
		f.Add([]byte(l))
	}
	key := strings.Fields(strings.Split(string(golden), "\n")[3])[1]
	for _, l := range []string{
		`a namespaces="x\"y\\" ssh-ed25519 ` + key,
		`a valid-after="20240101",valid-before="20240102Z" ssh-ed25519 ` + key,
		`"a b" CERT-Authority ssh-ed25519 ` + key + " c\r",
		`a foo="x y" ssh-ed25519 ` + key,
		`a namespaces="unterminated ssh-ed25519 ` + key,
		`ssh-ed25519 ` + key,
		"\"\"",
		"a,,!,* \t ssh-ed25519 " + key + " \t\r\r",
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		signers, err := ParseAllowedSigners(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, s := range signers {
			line := s.String()
			if strings.ContainsAny(line, "\n\x00") {
				t.Fatalf("String() of %s is not one line: %q", formatSigner(s), line)
			}
			again, err := ParseAllowedSigners(strings.NewReader(line))
			if err != nil {
				t.Fatalf("String() of %s = %q does not parse: %v", formatSigner(s), line, err)
			}
			if len(again) != 1 || !equalSigners(again[0], s) {
				t.Fatalf("String() of %s = %q parses as %d signers: %v", formatSigner(s), line, len(again), again)
			}
			if line2 := again[0].String(); line2 != line {
				t.Fatalf("String() not stable: %q then %q", line, line2)
			}
			Authorize([]AllowedSigner{s}, s.Key, Namespace, time.Now())
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	dir := filepath.Join("testdata", "signatures")
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sig") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			if wire, err := unarmor(b); err == nil {
				f.Add(wire)
			}
		}
	}
	f.Add([]byte(armorBegin + "\n" + armorEnd + "\n"))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"))
	msg, err := os.ReadFile(filepath.Join(dir, "manifest"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Both layers: data as an armored signature, and data as the wire
		// blob inside the armor (mutations of base64 rarely reach it).
		checkParsedSignature(t, data, msg)
		if len(data) <= maxSignatureSize/2 {
			checkParsedSignature(t, armor(data), msg)
		}
	})
}

func checkParsedSignature(t *testing.T, data, msg []byte) {
	t.Helper()
	sig, err := ParseSignature(data)
	if err != nil {
		return
	}
	if sig.Key() == nil {
		t.Fatal("parsed signature without a key")
	}
	_ = sig.Verify(msg)
	Authorize([]AllowedSigner{{Principals: "*", Key: sig.Key()}, {Principals: "*", CertAuthority: true, Key: sig.Key()}}, sig.Key(), Namespace, time.Now())
	Fingerprint(sig.Key())
	// What we parsed, written back, parses again.
	if again := armor(sig.sig.Marshal()); len(again) <= maxSignatureSize {
		if _, err := ParseSignature(again); err != nil {
			t.Fatalf("re-armored signature does not parse: %v", err)
		}
	}
}
