package sshsig

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshKeygen is the path of ssh-keygen. These tests exist to prove
// interoperability with OpenSSH, so a missing ssh-keygen is a failure, not a
// reason to skip: a green run without it would prove nothing.
func sshKeygen(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen not found (%v): the sshsig tests check compatibility with OpenSSH and need it; install openssh-client", err)
	}
	return p
}

// keygenEnv keeps the caller's ssh-agent out of the way (ssh-keygen -Y sign
// would prefer it to the key file) and gives ssh-keygen a private HOME.
func keygenEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SSH_AUTH_SOCK=") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "SSH_ASKPASS") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir)
}

// runKeygen runs ssh-keygen in dir with stdin (nil: empty, so that a prompt
// fails instead of hanging) and returns its stdout, stderr and error.
func runKeygen(t testing.TB, dir string, env []string, stdin []byte, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshKeygen(t), args...)
	cmd.Dir = dir
	cmd.Env = keygenEnv(dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func mustKeygen(t testing.TB, dir string, stdin []byte, args ...string) string {
	t.Helper()
	out, errOut, err := runKeygen(t, dir, nil, stdin, args...)
	if err != nil {
		t.Fatalf("ssh-keygen %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// newKeygenKey makes a key with ssh-keygen -t typ (no passphrase) at
// dir/name and returns its signer and public key as our package reads them.
func newKeygenKey(t testing.TB, dir, name string, typeArgs ...string) (ssh.Signer, ssh.PublicKey) {
	t.Helper()
	args := append([]string{"-q", "-N", "", "-C", name + "@test", "-f", filepath.Join(dir, name)}, typeArgs...)
	mustKeygen(t, dir, nil, args...)
	signer, err := ParsePrivateKey(readFile(t, filepath.Join(dir, name)), nil)
	if err != nil {
		t.Fatalf("ParsePrivateKey(%s): %v", name, err)
	}
	pub, err := ParsePublicKey(readFile(t, filepath.Join(dir, name+".pub")))
	if err != nil {
		t.Fatalf("ParsePublicKey(%s.pub): %v", name, err)
	}
	if !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatalf("%s: private and public key differ", name)
	}
	return signer, pub
}

// keygenSign signs dir/file with ssh-keygen -Y sign and returns the
// signature file's contents. keyFile may be a certificate (NAME-cert.pub):
// ssh-keygen then loads the private key NAME beside it and signs as the
// certificate.
func keygenSign(t testing.TB, dir, keyFile, namespace, file string) []byte {
	t.Helper()
	sigPath := filepath.Join(dir, file+".sig")
	_ = os.Remove(sigPath) // ssh-keygen would ask before overwriting it
	mustKeygen(t, dir, nil, "-Y", "sign", "-n", namespace, "-f", keyFile, file)
	return readFile(t, sigPath)
}

// keygenVerify runs ssh-keygen -Y verify of dir/file against sig, with
// allowedSigners as the allowed_signers file, and reports whether it
// accepted the signature for principal.
func keygenVerify(t testing.TB, dir string, allowedSigners string, principal string, sig []byte, file string, extra ...string) (bool, string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "allowed_signers"), []byte(allowedSigners))
	writeFile(t, filepath.Join(dir, "check.sig"), sig)
	args := append([]string{"-Y", "verify", "-f", "allowed_signers", "-I", principal, "-n", Namespace, "-s", "check.sig"}, extra...)
	out, errOut, err := runKeygen(t, dir, nil, readFile(t, filepath.Join(dir, file)), args...)
	return err == nil, out + errOut
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	// 0600: ssh-keygen refuses private keys that others can read.
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// goKey makes an Ed25519 key in Go, for tests that need keys but not
// ssh-keygen's view of them.
func goKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goCert makes a user (or host) certificate for key, signed by ca.
func goCert(t testing.TB, key ssh.PublicKey, ca ssh.Signer, certType uint32, principals []string, after, before time.Time) *ssh.Certificate {
	t.Helper()
	cert := &ssh.Certificate{
		Key:             key,
		CertType:        certType,
		KeyId:           "test",
		ValidPrincipals: principals,
		ValidAfter:      uint64(after.Unix()),
		ValidBefore:     uint64(before.Unix()),
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert
}

func chmodX(t testing.TB, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o700); err != nil {
		t.Fatal(err)
	}
}
