package main

// Tests of the signing commands (keygen, sign, verify, trust, pins): each
// runs the program in-process and, where the contract promises OpenSSH
// compatibility, checks the result with ssh-keygen itself.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// runMainTB is runMain for tests and benchmarks alike.
func runMainTB(tb testing.TB, args ...string) (int, string, string) {
	tb.Helper()
	var out, errb strings.Builder
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	code := m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// cg runs ctxguard with the data dir and fails the test unless it exits
// with want.
func cg(tb testing.TB, data string, want int, args ...string) (stdout, stderr string) {
	tb.Helper()
	code, out, errs := runMainTB(tb, append([]string{"--data-dir", data}, args...)...)
	if code != want {
		tb.Fatalf("ctxguard %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out, errs
}

// sshKeygenCmd runs ssh-keygen without an agent, so that only the key
// files given are used.
func sshKeygenCmd(tb testing.TB, stdin []byte, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command("ssh-keygen", args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SSH_AUTH_SOCK=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustSSHKeygen(tb testing.TB, stdin []byte, args ...string) string {
	tb.Helper()
	out, err := sshKeygenCmd(tb, stdin, args...)
	if err != nil {
		tb.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// keyFields is "type base64" of a public key line, without its comment.
func keyFields(tb testing.TB, line string) string {
	tb.Helper()
	f := strings.Fields(line)
	if len(f) < 2 {
		tb.Fatalf("not a public key line: %q", line)
	}
	return f[0] + " " + f[1]
}

func readText(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func writeText(tb testing.TB, path, s string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// newKey makes a key with ctxguard keygen in dir and returns its path.
func newKey(tb testing.TB, data, dir, name string) string {
	tb.Helper()
	key := filepath.Join(dir, name)
	cg(tb, data, 0, "keygen", "--out", key, "--comment", name)
	return key
}

type wireManifest struct {
	Name      string `json:"name"`
	Sequence  uint64 `json:"sequence"`
	IssuedAt  string `json:"issued_at"`
	ExpiresAt string `json:"expires_at"`
	Signer    string `json:"signer"`
	URIPrefix string `json:"uri_prefix"`
	Entries   []struct {
		URI    string `json:"uri"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
		MIME   string `json:"mime"`
	} `json:"entries"`
}

func readManifest(tb testing.TB, path string) wireManifest {
	tb.Helper()
	var m wireManifest
	if err := json.Unmarshal([]byte(readText(tb, path)), &m); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return m
}

func (m wireManifest) uris() []string {
	var u []string
	for _, e := range m.Entries {
		u = append(u, e.URI)
	}
	return u
}

// failLines are verify's FAIL lines.
func failLines(out string) []string {
	var fails []string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "FAIL ") {
			fails = append(fails, strings.TrimRight(l, "\n"))
		}
	}
	return fails
}

// wantFails checks that verify named exactly the failures with the given
// prefixes, one line each.
func wantFails(t *testing.T, out string, prefixes ...string) {
	t.Helper()
	fails := failLines(out)
	if len(fails) != len(prefixes) {
		t.Fatalf("FAIL lines %q, want %d starting with %q\nstdout:\n%s", fails, len(prefixes), prefixes, out)
	}
	for _, p := range prefixes {
		if !slices.ContainsFunc(fails, func(l string) bool { return strings.HasPrefix(l, p) }) {
			t.Errorf("no FAIL line starting with %q in %q", p, fails)
		}
	}
}

// signFixture is a data dir whose trust store trusts alice's key for
// file:///kb/, and a knowledge base signed by her.
type signFixture struct {
	data, keys, kb, manifest, key string
}

func newSignFixture(t *testing.T) *signFixture {
	t.Helper()
	f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
	f.kb, _ = writeKB(t, sampleDocs)
	f.key = newKey(t, f.data, f.keys, "alice")
	cg(t, f.data, 0, "trust", "add", "--principal", "alice@example.com", "--key", f.key+".pub", "--scope", "file:///kb/")
	f.manifest = filepath.Join(t.TempDir(), "kb.manifest")
	return f
}

func (f *signFixture) sign(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest}, extra...)
	out, _ := cg(t, f.data, 0, append(args, f.kb)...)
	return out
}

func (f *signFixture) verify(t *testing.T, want int, extra ...string) string {
	t.Helper()
	args := append([]string{"verify"}, extra...)
	out, _ := cg(t, f.data, want, append(args, f.manifest, f.kb)...)
	return out
}

func TestKeygenWritesOpenSSHKeyPair(t *testing.T) {
	t.Parallel()
	data, dir := t.TempDir(), t.TempDir()
	key := filepath.Join(dir, "id")
	out, _ := cg(t, data, 0, "keygen", "--out", key, "--comment", "kb@example.com")

	info, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", info.Mode().Perm())
	}
	pub := readText(t, key+".pub")
	if !strings.HasPrefix(pub, "ssh-ed25519 ") || !strings.HasSuffix(pub, " kb@example.com\n") {
		t.Errorf("public key file %q: want an ssh-ed25519 line with the comment", pub)
	}
	// ssh-keygen reads the private key and derives the same public key.
	derived := mustSSHKeygen(t, nil, "-y", "-f", key)
	if keyFields(t, derived) != keyFields(t, pub) {
		t.Errorf("ssh-keygen -y gives %q, FILE.pub has %q", derived, pub)
	}
	// The fingerprint printed is ssh-keygen's.
	fp := strings.Fields(mustSSHKeygen(t, nil, "-l", "-f", key+".pub"))[1]
	if !strings.Contains(out, fp) {
		t.Errorf("keygen output does not name the fingerprint %s:\n%s", fp, out)
	}

	// No overwrite without --force, and the old key stays.
	_, errs := cg(t, data, 1, "keygen", "--out", key)
	if !strings.Contains(errs, "exists") || !strings.Contains(errs, "--force") {
		t.Errorf("refusal does not say the file exists and how to overwrite: %q", errs)
	}
	if readText(t, key+".pub") != pub {
		t.Error("a refused keygen changed FILE.pub")
	}

	// --force replaces both, and a loosened mode is tightened again.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	cg(t, data, 0, "keygen", "--out", key, "--force")
	if readText(t, key+".pub") == pub {
		t.Error("keygen --force did not write a new key")
	}
	if info, _ := os.Stat(key); info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode after --force %v, want 0600", info.Mode().Perm())
	}
	if keyFields(t, mustSSHKeygen(t, nil, "-y", "-f", key)) != keyFields(t, readText(t, key+".pub")) {
		t.Error("after --force, FILE and FILE.pub are not one pair")
	}

	// A stray FILE.pub alone also blocks, and no private key is left
	// without its public half.
	lone := filepath.Join(dir, "lone")
	writeText(t, lone+".pub", "not mine\n")
	_, errs = cg(t, data, 1, "keygen", "--out", lone)
	if !strings.Contains(errs, lone+".pub exists") {
		t.Errorf("refusal does not name %s.pub: %q", lone, errs)
	}
	if _, err := os.Stat(lone); err == nil {
		t.Errorf("a refused keygen left %s behind", lone)
	}
}

func TestKeygenPassphrase(t *testing.T) {
	t.Setenv("CTXGUARD_TEST_PASS", "correct horse")
	t.Setenv("CTXGUARD_TEST_WRONG", "wrong horse")
	f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
	f.kb, _ = writeKB(t, sampleDocs)
	f.key = filepath.Join(f.keys, "enc")
	f.manifest = filepath.Join(t.TempDir(), "m")
	cg(t, f.data, 0, "keygen", "--out", f.key, "--passphrase-env", "CTXGUARD_TEST_PASS")
	if strings.Contains(readText(t, f.key), "correct horse") {
		t.Fatal("the passphrase is in the key file")
	}

	// ssh-keygen opens it with the passphrase, and not without.
	derived := mustSSHKeygen(t, nil, "-y", "-P", "correct horse", "-f", f.key)
	if keyFields(t, derived) != keyFields(t, readText(t, f.key+".pub")) {
		t.Errorf("ssh-keygen -y -P gives %q, FILE.pub has %q", derived, readText(t, f.key+".pub"))
	}
	if out, err := sshKeygenCmd(t, nil, "-y", "-P", "", "-f", f.key); err == nil {
		t.Fatalf("ssh-keygen read the encrypted key without a passphrase: %s", out)
	}

	cg(t, f.data, 0, "trust", "add", "--principal", "enc", "--key", f.key+".pub", "--scope", "file:///kb/")
	signArgs := []string{"sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest}
	_, errs := cg(t, f.data, 1, append(signArgs, f.kb)...)
	if !strings.Contains(errs, "encrypted") || !strings.Contains(errs, "--passphrase-env") {
		t.Errorf("signing with an encrypted key and no passphrase: unclear message %q", errs)
	}
	_, errs = cg(t, f.data, 1, append(signArgs, "--passphrase-env", "CTXGUARD_TEST_WRONG", f.kb)...)
	if !strings.Contains(errs, "wrong passphrase") {
		t.Errorf("signing with the wrong passphrase: unclear message %q", errs)
	}
	_, errs = cg(t, f.data, 1, append(signArgs, "--passphrase-env", "CTXGUARD_TEST_UNSET_VARIABLE", f.kb)...)
	if !strings.Contains(errs, "CTXGUARD_TEST_UNSET_VARIABLE is not set") {
		t.Errorf("signing with an unset passphrase variable: unclear message %q", errs)
	}
	if _, err := os.Stat(f.manifest); err == nil {
		t.Fatal("a failed sign wrote a manifest")
	}
	cg(t, f.data, 0, append(signArgs, "--passphrase-env", "CTXGUARD_TEST_PASS", f.kb)...)
	if out := f.verify(t, 0); !strings.Contains(out, "OK") {
		t.Errorf("verify of what the encrypted key signed:\n%s", out)
	}
}

func TestTrustAddLsRm(t *testing.T) {
	t.Parallel()
	f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
	f.kb, _ = writeKB(t, sampleDocs)
	f.key = newKey(t, f.data, f.keys, "alice")
	f.manifest = filepath.Join(t.TempDir(), "kb.manifest")
	fp := strings.Fields(mustSSHKeygen(t, nil, "-l", "-f", f.key+".pub"))[1]

	out, _ := cg(t, f.data, 0, "trust", "ls")
	if !strings.Contains(out, "no trusted signers") {
		t.Errorf("trust ls of an empty store:\n%s", out)
	}
	cg(t, f.data, 0, "trust", "add", "--principal", "alice@example.com", "--key", f.key+".pub",
		"--scope", "file:///kb/", "--scope", "https://wiki.example.com/space/")

	out, _ = cg(t, f.data, 0, "trust", "ls")
	for _, want := range []string{"alice@example.com", fp, "file:///kb/", "https://wiki.example.com/space/"} {
		if !strings.Contains(out, want) {
			t.Errorf("trust ls does not show %q:\n%s", want, out)
		}
	}
	out, _ = cg(t, f.data, 0, "trust", "ls", "--json")
	var entries []trustEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("trust ls --json: %v\n%s", err, out)
	}
	if len(entries) != 1 || entries[0].Principal != "alice@example.com" || entries[0].Fingerprint != fp ||
		!slices.Equal(entries[0].Scopes, []string{"file:///kb/", "https://wiki.example.com/space/"}) {
		t.Errorf("trust ls --json = %+v", entries)
	}

	// ssh-keygen reads the trust store's allowed_signers and accepts what
	// ctxguard signed.
	f.sign(t)
	allowed := filepath.Join(f.data, "allowed_signers")
	res := mustSSHKeygen(t, []byte(readText(t, f.manifest)), "-Y", "verify", "-f", allowed, "-I", "alice@example.com",
		"-n", "ctxguard-kb", "-s", f.manifest+".sig")
	if !strings.Contains(res, "Good") {
		t.Errorf("ssh-keygen -Y verify: %s", res)
	}
	f.verify(t, 0)

	out, _ = cg(t, f.data, 0, "trust", "rm", "alice@example.com")
	if !strings.Contains(out, "revoked alice@example.com") {
		t.Errorf("trust rm output: %q", out)
	}
	out, _ = cg(t, f.data, 0, "trust", "ls", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("trust ls --json after rm: %s", out)
	}
	wantFails(t, f.verify(t, 1), "FAIL unknown-signer")
	if res, err := sshKeygenCmd(t, []byte(readText(t, f.manifest)), "-Y", "verify", "-f", allowed, "-I", "alice@example.com",
		"-n", "ctxguard-kb", "-s", f.manifest+".sig"); err == nil {
		t.Errorf("ssh-keygen still accepts the revoked signer: %s", res)
	}
	_, errs := cg(t, f.data, 1, "trust", "rm", "alice@example.com")
	if !strings.Contains(errs, "not in the trust store") {
		t.Errorf("trust rm of an unknown principal: %q", errs)
	}

	// Bad scopes and principals are refused and change nothing.
	for _, bad := range [][]string{
		{"--principal", "bob", "--scope", "kb/"},
		{"--principal", "bob", "--scope", "/kb/"},
		{"--principal", "bob", "--scope", "file:///kb/../secret/"},
		{"--principal", "bob", "--scope", "file:///kb/./"},
		{"--principal", "bob", "--scope", "file:///kb/ x"},
		{"--principal", "bob smith", "--scope", "file:///kb/"},
		{"--principal", "bob,eve", "--scope", "file:///kb/"},
		{"--principal", "*", "--scope", "file:///kb/"},
		{"--principal", "", "--scope", "file:///kb/"},
	} {
		code, _, errs := runMainTB(t, append([]string{"--data-dir", f.data, "trust", "add", "--key", f.key + ".pub"}, bad...)...)
		if code == 0 {
			t.Errorf("trust add %q: accepted", bad)
		} else if !strings.Contains(errs, "scope") && !strings.Contains(errs, "principal") {
			t.Errorf("trust add %q: message names neither scope nor principal: %q", bad, errs)
		}
	}
	out, _ = cg(t, f.data, 0, "trust", "ls", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("refused trust adds changed the store: %s", out)
	}
}

func TestSignVerifyDirectory(t *testing.T) {
	t.Parallel()
	const handbook, iban = "file:///kb/handbook.md", "file:///kb/finance/iban.txt"

	t.Run("ok", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		m := readManifest(t, f.manifest)
		if !slices.Equal(m.uris(), []string{iban, handbook, "file:///kb/unicode.md"}) {
			t.Errorf("manifest URIs %q", m.uris())
		}
		out := f.verify(t, 0)
		if !strings.Contains(out, "OK") || !strings.Contains(out, "alice@example.com") || len(failLines(out)) > 0 {
			t.Errorf("verify:\n%s", out)
		}
		// Without a directory only the signature is checked.
		out, _ = cg(t, f.data, 0, "verify", f.manifest)
		if !strings.Contains(out, "OK") {
			t.Errorf("verify MANIFEST:\n%s", out)
		}
	})

	t.Run("changed", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		p := filepath.Join(f.kb, "handbook.md")
		b := []byte(readText(t, p))
		b[10] ^= 1 // one byte, same size
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		wantFails(t, f.verify(t, 1), "FAIL changed "+handbook+":")
	})

	t.Run("missing", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		if err := os.Remove(filepath.Join(f.kb, "finance", "iban.txt")); err != nil {
			t.Fatal(err)
		}
		wantFails(t, f.verify(t, 1), "FAIL missing "+iban+":")
	})

	t.Run("added", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		writeText(t, filepath.Join(f.kb, "finance", "new.md"), "slipped in\n")
		wantFails(t, f.verify(t, 1), "FAIL added file:///kb/finance/new.md:")
	})

	t.Run("symlink", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		if err := os.Symlink("/etc/hostname", filepath.Join(f.kb, "link.md")); err != nil {
			t.Fatal(err)
		}
		wantFails(t, f.verify(t, 1), "FAIL added ")
	})

	t.Run("manifest-tampered", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		// Still a canonical manifest, so only the signature can tell.
		raw := readText(t, f.manifest)
		tampered := strings.Replace(raw, `"sequence":1,`, `"sequence":7,`, 1)
		if tampered == raw {
			t.Fatalf("no sequence in %s", raw)
		}
		writeText(t, f.manifest, tampered)
		wantFails(t, f.verify(t, 1), "FAIL bad-signature")
	})

	t.Run("signature-missing", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		os.Remove(f.manifest + ".sig")
		_, errs := cg(t, f.data, 1, "verify", f.manifest, f.kb)
		if !strings.Contains(errs, "no signature") {
			t.Errorf("verify without MANIFEST.sig: %q", errs)
		}
	})

	t.Run("unknown-signer", func(t *testing.T) {
		f := newSignFixture(t)
		f.key = newKey(t, f.data, f.keys, "mallory")
		f.sign(t)
		out := f.verify(t, 1)
		wantFails(t, out, "FAIL unknown-signer")
		if fp := strings.Fields(mustSSHKeygen(t, nil, "-l", "-f", f.key+".pub"))[1]; !strings.Contains(out, fp) {
			t.Errorf("unknown-signer does not name the key %s:\n%s", fp, out)
		}
	})

	t.Run("out-of-scope", func(t *testing.T) {
		f := newSignFixture(t)
		f.key = newKey(t, f.data, f.keys, "bob")
		cg(t, f.data, 0, "trust", "add", "--principal", "bob", "--key", f.key+".pub", "--scope", "file:///other/")
		f.sign(t)
		out := f.verify(t, 1)
		wantFails(t, out, "FAIL out-of-scope "+iban+":", "FAIL out-of-scope "+handbook+":", "FAIL out-of-scope file:///kb/unicode.md:")
		if !strings.Contains(out, "file:///other/") {
			t.Errorf("out-of-scope does not say which scopes bob has:\n%s", out)
		}
		// A scope that is a string prefix but not a path prefix does not
		// cover either.
		cg(t, f.data, 0, "trust", "add", "--principal", "bob", "--key", f.key+".pub", "--scope", "file:///k")
		if fails := failLines(f.verify(t, 1)); len(fails) != 3 {
			t.Errorf("file:///k covers file:///kb/: %q", fails)
		}
		cg(t, f.data, 0, "trust", "add", "--principal", "bob", "--key", f.key+".pub", "--scope", "file:///kb")
		f.verify(t, 0)
	})

	t.Run("expired", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t, "--expires", "1s")
		exp, err := time.Parse(time.RFC3339, readManifest(t, f.manifest).ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(exp); d > 2*time.Second {
			t.Fatalf("--expires 1s: expires_at %s is %v away", exp, d)
		}
		time.Sleep(time.Until(exp) + 100*time.Millisecond)
		out := f.verify(t, 1)
		wantFails(t, out, "FAIL expired")
		if !strings.Contains(out, exp.Format(time.RFC3339)) {
			t.Errorf("expired does not say when:\n%s", out)
		}
		for _, bad := range []string{"0s", "500ms", "-1h", "0d", "soon"} {
			_, errs := cg(t, f.data, 2, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, "--expires", bad, f.kb)
			if !strings.Contains(errs, "--expires") {
				t.Errorf("--expires %s: %q", bad, errs)
			}
		}
	})

	t.Run("non-canonical", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		raw := readText(t, f.manifest)
		first := strings.Index(raw, "\n") + 1
		entry := raw[first : first+strings.Index(raw[first:], "\n")+1]
		for _, c := range []struct{ name, text, want string }{
			{"whitespace", strings.Replace(raw, `"sequence":1,`, `"sequence": 1,`, 1), "canonical"},
			{"duplicate", raw[:first] + entry + raw[first:], "duplicated"},
			{"unsorted", raw[:first] + reorder(t, raw), "sorted"},
			{"unknown field", strings.Replace(raw, `"name":`, `"extra":1,"name":`, 1), "not a valid manifest"},
			{"duplicate key", strings.Replace(raw, `"name":"`, `"name":"x","name":"`, 1), "not a valid manifest"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if c.text == raw {
					t.Fatal("the edit changed nothing")
				}
				m := filepath.Join(t.TempDir(), "edited")
				writeText(t, m, c.text)
				// A valid signature over the edited bytes: only the
				// form is wrong.
				mustSSHKeygen(t, nil, "-Y", "sign", "-n", "ctxguard-kb", "-f", f.key, m)
				out, errs := cg(t, f.data, 1, "verify", m, f.kb)
				if !strings.Contains(out+errs, c.want) {
					t.Errorf("verify of a manifest with a %s: want %q in\nstdout:\n%s\nstderr:\n%s", c.name, c.want, out, errs)
				}
				if !strings.HasPrefix(out, "FAIL manifest: ") {
					t.Errorf("no FAIL line on stdout:\n%s", out)
				}
				if strings.Contains(out, "OK") {
					t.Errorf("verify says OK:\n%s", out)
				}
			})
		}
	})

	t.Run("sequence", func(t *testing.T) {
		f := newSignFixture(t)
		f.sign(t)
		if m := readManifest(t, f.manifest); m.Sequence != 1 || m.Name == "" {
			t.Fatalf("first manifest: name %q sequence %d", m.Name, m.Sequence)
		}
		f.sign(t)
		if m := readManifest(t, f.manifest); m.Sequence != 2 {
			t.Errorf("re-signed manifest: sequence %d, want 2", m.Sequence)
		}
		f.sign(t, "--sequence", "10")
		if m := readManifest(t, f.manifest); m.Sequence != 10 {
			t.Errorf("--sequence 10: sequence %d", m.Sequence)
		}
		before := readText(t, f.manifest)
		for _, seq := range []string{"9", "10"} {
			_, errs := cg(t, f.data, 1, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, "--sequence", seq, f.kb)
			if !strings.Contains(errs, "does not exceed 10") {
				t.Errorf("--sequence %s below the existing 10: %q", seq, errs)
			}
		}
		if readText(t, f.manifest) != before {
			t.Error("a refused sign changed the manifest")
		}
		f.sign(t)
		if m := readManifest(t, f.manifest); m.Sequence != 11 {
			t.Errorf("after 10: sequence %d, want 11", m.Sequence)
		}
		f.verify(t, 0)

		// Something at -o that is not a manifest is neither a sequence to
		// continue nor silently overwritten.
		f.manifest = filepath.Join(t.TempDir(), "notes.txt")
		writeText(t, f.manifest, "my notes\n")
		_, errs := cg(t, f.data, 1, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, f.kb)
		if !strings.Contains(errs, "not a manifest") || readText(t, f.manifest) != "my notes\n" {
			t.Errorf("sign over a non-manifest: %q", errs)
		}
	})

	t.Run("own-files", func(t *testing.T) {
		f := newSignFixture(t)
		f.manifest = filepath.Join(f.kb, "MANIFEST")
		f.sign(t)
		f.sign(t) // now .sig and .snapshot lie in DIR too
		for _, p := range []string{f.manifest, f.manifest + ".sig", f.manifest + ".snapshot"} {
			if _, err := os.Stat(p); err != nil {
				t.Fatal(err)
			}
		}
		m := readManifest(t, f.manifest)
		if len(m.Entries) != len(sampleDocs) {
			t.Errorf("the manifest lists its own files: %q", m.uris())
		}
		out := f.verify(t, 0)
		if len(failLines(out)) > 0 || !strings.Contains(out, "OK") {
			t.Errorf("verify reports the manifest's own files:\n%s", out)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(f.kb, ".MANIFEST*")); len(leftovers) > 0 {
			t.Errorf("temporary files left in DIR: %q", leftovers)
		}
	})

	t.Run("exclude", func(t *testing.T) {
		f := newSignFixture(t)
		writeText(t, filepath.Join(f.kb, "drafts", "wip.md"), "draft\n")
		writeText(t, filepath.Join(f.kb, "x.tmp"), "tmp\n")
		f.sign(t, "--exclude", "*.tmp", "--exclude", "drafts/*")
		if m := readManifest(t, f.manifest); len(m.Entries) != len(sampleDocs) {
			t.Errorf("--exclude: %q", m.uris())
		}
	})

	t.Run("uri-prefix", func(t *testing.T) {
		f := newSignFixture(t)
		// Without the trailing slash the files still map to
		// file:///kb/NAME, as a server names them.
		cg(t, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb", "-o", f.manifest, f.kb)
		if m := readManifest(t, f.manifest); m.URIPrefix != "file:///kb/" || !slices.Contains(m.uris(), handbook) {
			t.Errorf("--uri-prefix file:///kb: prefix %q, URIs %q", m.URIPrefix, m.uris())
		}
		f.verify(t, 0)
		for _, bad := range []string{"kb/", "file:///kb/../etc/"} {
			_, errs := cg(t, f.data, 2, "sign", "--key", f.key, "--uri-prefix", bad, "-o", f.manifest, f.kb)
			if !strings.Contains(errs, "--uri-prefix") {
				t.Errorf("--uri-prefix %q: %q", bad, errs)
			}
		}
		_, errs := cg(t, f.data, 2, "sign", "--key", f.key, "-o", f.manifest, f.kb)
		if !strings.Contains(errs, "--uri-prefix is required") {
			t.Errorf("sign DIR without --uri-prefix: %q", errs)
		}
	})
}

// reorder returns raw's entry lines (after the header line) with the first
// two swapped.
func reorder(t *testing.T, raw string) string {
	t.Helper()
	lines := strings.SplitAfter(raw, "\n")
	// header, e1, e2, e3, "]}\n", ""
	if len(lines) < 5 {
		t.Fatalf("too few entries to reorder: %q", raw)
	}
	e1, e2 := lines[1], lines[2]
	lines[1], lines[2] = e2, e1
	return strings.Join(lines[1:], "")
}

func TestSignPublicKeyThenSSHKeygen(t *testing.T) {
	t.Parallel()
	for _, typ := range [][]string{{"-t", "ed25519"}, {"-t", "ecdsa", "-b", "256"}, {"-t", "ecdsa", "-b", "384"}, {"-t", "rsa", "-b", "2048"}} {
		t.Run(strings.Join(typ, ""), func(t *testing.T) {
			t.Parallel()
			f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
			f.kb, _ = writeKB(t, sampleDocs)
			f.key = filepath.Join(f.keys, "owner")
			f.manifest = filepath.Join(t.TempDir(), "kb.manifest")
			mustSSHKeygen(t, nil, append(typ, "-q", "-N", "", "-C", "owner", "-f", f.key)...)
			cg(t, f.data, 0, "trust", "add", "--principal", "owner@example.com", "--key", f.key+".pub", "--scope", "file:///kb/")

			// A stale signature must not survive next to a new, unsigned
			// manifest.
			writeText(t, f.manifest+".sig", "stale")
			out, _ := cg(t, f.data, 0, "sign", "--key", f.key+".pub", "--uri-prefix", "file:///kb/", "-o", f.manifest, f.kb)
			if !strings.Contains(out, "ssh-keygen -Y sign -n ctxguard-kb -f KEY "+f.manifest) {
				t.Errorf("sign --key KEY.pub does not print the ssh-keygen command:\n%s", out)
			}
			if _, err := os.Stat(f.manifest + ".sig"); err == nil {
				t.Fatal("sign --key KEY.pub left a signature beside the unsigned manifest")
			}
			if _, errs := cg(t, f.data, 1, "verify", f.manifest, f.kb); !strings.Contains(errs, "no signature") {
				t.Errorf("verify of the unsigned manifest: %q", errs)
			}

			mustSSHKeygen(t, nil, "-Y", "sign", "-n", "ctxguard-kb", "-f", f.key, f.manifest)
			if out := f.verify(t, 0); !strings.Contains(out, "OK") || !strings.Contains(out, "owner@example.com") {
				t.Errorf("verify of the ssh-keygen signature:\n%s", out)
			}

			os.Remove(f.manifest + ".sig")
			mustSSHKeygen(t, nil, "-Y", "sign", "-n", "other-namespace", "-f", f.key, f.manifest)
			out = f.verify(t, 1)
			wantFails(t, out, "FAIL bad-signature")
			if !strings.Contains(out, "namespace") {
				t.Errorf("wrong namespace not named:\n%s", out)
			}

			// ctxguard signs with the ssh-keygen private key too, and
			// ssh-keygen accepts that signature.
			cg(t, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, f.kb)
			f.verify(t, 0)
			res := mustSSHKeygen(t, []byte(readText(t, f.manifest)), "-Y", "verify", "-f", filepath.Join(f.data, "allowed_signers"),
				"-I", "owner@example.com", "-n", "ctxguard-kb", "-s", f.manifest+".sig")
			if !strings.Contains(res, "Good") {
				t.Errorf("ssh-keygen -Y verify of ctxguard's signature: %s", res)
			}
		})
	}
}

func TestVerifyAllowedSignersFile(t *testing.T) {
	t.Parallel()
	f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
	f.kb, _ = writeKB(t, sampleDocs)
	f.key = newKey(t, f.data, f.keys, "alice")
	f.manifest = filepath.Join(t.TempDir(), "kb.manifest")
	f.sign(t)

	// The data dir has no trust store: the manifest is not trusted there.
	wantFails(t, f.verify(t, 1), "FAIL unknown-signer")

	allowed := filepath.Join(f.keys, "allowed_signers")
	writeText(t, allowed, "# by hand\nalice@example.com "+keyFields(t, readText(t, f.key+".pub"))+"\n")
	out, errs := cg(t, f.data, 0, "verify", "--allowed-signers", allowed, f.manifest, f.kb)
	if !strings.Contains(out, "OK") || !strings.Contains(out, "alice@example.com") {
		t.Errorf("verify --allowed-signers:\n%s", out)
	}
	if !strings.Contains(errs, "no URI scopes") {
		t.Errorf("verify --allowed-signers without --scope does not say scopes are unchecked: %q", errs)
	}
	cg(t, f.data, 0, "verify", "--allowed-signers", allowed, "--scope", "file:///kb/", f.manifest, f.kb)
	out, _ = cg(t, f.data, 1, "verify", "--allowed-signers", allowed, "--scope", "file:///other/", "--scope", "file:///kb/finance/", f.manifest, f.kb)
	wantFails(t, out, "FAIL out-of-scope file:///kb/handbook.md:", "FAIL out-of-scope file:///kb/unicode.md:")

	// Another key in the file does not vouch for this one.
	other := newKey(t, f.data, f.keys, "other")
	writeText(t, allowed, "alice@example.com "+keyFields(t, readText(t, other+".pub"))+"\n")
	out, _ = cg(t, f.data, 1, "verify", "--allowed-signers", allowed, f.manifest, f.kb)
	wantFails(t, out, "FAIL unknown-signer")

	// A line for another namespace does not either.
	writeText(t, allowed, `alice@example.com namespaces="git" `+keyFields(t, readText(t, f.key+".pub"))+"\n")
	out, _ = cg(t, f.data, 1, "verify", "--allowed-signers", allowed, f.manifest, f.kb)
	wantFails(t, out, "FAIL unknown-signer")

	_, errs = cg(t, f.data, 2, "verify", "--scope", "file:///kb/", f.manifest, f.kb)
	if !strings.Contains(errs, "--allowed-signers") {
		t.Errorf("--scope without --allowed-signers: %q", errs)
	}
	_, errs = cg(t, f.data, 2, "verify", "--allowed-signers", allowed, "--scope", "kb/", f.manifest, f.kb)
	if !strings.Contains(errs, "scope") {
		t.Errorf("--scope kb/: %q", errs)
	}
}

func TestVerifyRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSignFixture(t)
	f.sign(t, "--name", "handbook", "--sequence", "3")
	digest := sha256.Sum256([]byte(readText(t, f.manifest)))

	accept := func(seq uint64, d [32]byte) {
		t.Helper()
		db, err := bolt.Open(f.data, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.AcceptManifest(ctx, "handbook", seq, d); err != nil {
			t.Fatal(err)
		}
	}
	// The filter accepted this very manifest: fine.
	accept(3, digest)
	f.verify(t, 0)

	// It has since accepted sequence 5: 3 is a rollback.
	accept(5, sha256.Sum256([]byte("a later manifest")))
	out := f.verify(t, 1)
	wantFails(t, out, "FAIL rollback")
	if !strings.Contains(out, "sequence 3") || !strings.Contains(out, "sequence 5") {
		t.Errorf("rollback does not name both sequences:\n%s", out)
	}
	// verify never advances the store.
	db, err := bolt.Open(f.data, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seq, _, _, err := db.AcceptedManifest(ctx, "handbook")
	db.Close()
	if err != nil || seq != 5 {
		t.Errorf("accepted sequence after verify: %d, %v", seq, err)
	}

	// Sequence 5 with other content than the accepted one is one too.
	f.sign(t, "--sequence", "5")
	wantFails(t, f.verify(t, 1), "FAIL rollback")
	f.sign(t)
	f.verify(t, 0)
}

func TestSignFromServer(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		"logo.bin": "\x00\x01\x02\xff binary",
	}
	for k, v := range sampleDocs {
		docs[k] = v
	}
	f := &signFixture{data: t.TempDir(), keys: t.TempDir()}
	var sums map[string]string
	f.kb, sums = writeKB(t, docs)
	f.key = newKey(t, f.data, f.keys, "alice")
	cg(t, f.data, 0, "trust", "add", "--principal", "alice@example.com", "--key", f.key+".pub", "--scope", "file:///kb/")
	f.manifest = filepath.Join(t.TempDir(), "server.manifest")

	out, _ := cg(t, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest,
		"--from-server", "--", kbserverBin, "-dir", f.kb)
	if !strings.Contains(out, fmt.Sprintf("%d documents", len(docs))) {
		t.Errorf("sign --from-server:\n%s", out)
	}
	m := readManifest(t, f.manifest)
	if m.Name != "kbserver" {
		t.Errorf("name %q, want the server's, kbserver", m.Name)
	}
	got := map[string]string{}
	for _, e := range m.Entries {
		got[e.URI] = e.SHA256
		name := strings.TrimPrefix(e.URI, "file:///kb/")
		if e.Size != int64(len(docs[name])) {
			t.Errorf("%s: size %d, want %d", e.URI, e.Size, len(docs[name]))
		}
	}
	if len(got) != len(docs) {
		t.Errorf("signed %d documents, want %d: %q", len(got), len(docs), m.uris())
	}
	for name, sum := range sums {
		if got["file:///kb/"+name] != sum {
			t.Errorf("%s: sha256 %q, want %q", name, got["file:///kb/"+name], sum)
		}
	}
	if out := f.verify(t, 0); !strings.Contains(out, fmt.Sprintf("all %d documents", len(docs))) {
		t.Errorf("verify of the server's manifest against its directory:\n%s", out)
	}

	// --uri-prefix signs only what lies under it.
	sub := filepath.Join(t.TempDir(), "finance.manifest")
	cg(t, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/finance/", "-o", sub,
		"--from-server", "--", kbserverBin, "-dir", f.kb)
	if uris := readManifest(t, sub).uris(); !slices.Equal(uris, []string{"file:///kb/finance/iban.txt"}) {
		t.Errorf("--uri-prefix file:///kb/finance/ signed %q", uris)
	}
	cg(t, f.data, 0, "verify", sub, filepath.Join(f.kb, "finance"))
	// A prefix is a path prefix: file:///kb/fin is not file:///kb/finance/.
	cg(t, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/fin", "-o", sub, "--from-server", "--", kbserverBin, "-dir", f.kb)
	if m := readManifest(t, sub); len(m.Entries) != 0 || m.URIPrefix != "file:///kb/fin/" {
		t.Errorf("--uri-prefix file:///kb/fin signed %q under %q", m.uris(), m.URIPrefix)
	}

	// A server that does not start is an error, not an empty manifest.
	bad := filepath.Join(t.TempDir(), "bad.manifest")
	code, _, errs := runMainTB(t, "--data-dir", f.data, "sign", "--key", f.key, "-o", bad, "--from-server", "--", filepath.Join(f.keys, "no-such-server"))
	if code == 0 {
		t.Error("sign --from-server with a missing server succeeded")
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("a failed sign wrote %s (%s)", bad, errs)
	}
}

func TestPinsLsReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	defs := map[store.PinKey]string{
		{Server: "kb", Kind: "tool", Name: "search"}:  `{"name":"search","description":"Search the knowledge base."}`,
		{Server: "kb", Kind: "tool", Name: "fetch"}:   `{"name":"fetch","description":"Fetch a URL."}`,
		{Server: "git", Kind: "tool", Name: "commit"}: `{"name":"commit"}`,
	}
	db, err := bolt.Open(data, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, d := range defs {
		if _, first, err := db.Pin(ctx, k, []byte(d)); err != nil || !first {
			t.Fatalf("pin %v: first %v, %v", k, first, err)
		}
	}
	db.Close()
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	out, _ := cg(t, data, 0, "pins", "ls")
	for k, d := range defs {
		if !strings.Contains(out, k.Name) || !strings.Contains(out, sum(d)) {
			t.Errorf("pins ls does not show %v (%s):\n%s", k, sum(d), out)
		}
	}
	out, _ = cg(t, data, 0, "pins", "ls", "--json")
	var lines []map[string]any
	for l := range strings.Lines(out) {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("pins ls --json line %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	if len(lines) != 3 {
		t.Errorf("pins ls --json: %d lines, want 3:\n%s", len(lines), out)
	}
	out, _ = cg(t, data, 0, "pins", "ls", "--server", "git")
	if !strings.Contains(out, "commit") || strings.Contains(out, "search") {
		t.Errorf("pins ls --server git:\n%s", out)
	}

	out, _ = cg(t, data, 0, "pins", "reset", "kb", "search")
	if !strings.Contains(out, "removed 1") {
		t.Errorf("pins reset kb search: %q", out)
	}
	out, _ = cg(t, data, 0, "pins", "ls")
	if strings.Contains(out, "search") || !strings.Contains(out, "fetch") || !strings.Contains(out, "commit") {
		t.Errorf("after reset kb search:\n%s", out)
	}
	_, errs := cg(t, data, 1, "pins", "reset", "kb", "search")
	if !strings.Contains(errs, `"search"`) {
		t.Errorf("reset of a pin that is gone: %q", errs)
	}
	cg(t, data, 1, "pins", "reset", "nosuchserver")
	out, _ = cg(t, data, 0, "pins", "reset", "kb")
	if !strings.Contains(out, "removed 1") {
		t.Errorf("pins reset kb: %q", out)
	}
	out, _ = cg(t, data, 0, "pins", "ls")
	if strings.Contains(out, "fetch") || !strings.Contains(out, "commit") {
		t.Errorf("after reset kb:\n%s", out)
	}
}

// writeManyFiles writes n files of about size bytes each, in 100
// directories, and returns their total size.
func writeManyFiles(tb testing.TB, dir string, n, size int) int64 {
	tb.Helper()
	var total int64
	line := []byte("The quick brown fox jumps over the lazy dog; expenses are filed in the portal.\n")
	body := bytes.Repeat(line, size/len(line)+1)[:size]
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if i < 100 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		b := append(fmt.Appendf(nil, "# document %d\n", i), body...)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("doc%05d.md", i)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		total += int64(len(b))
	}
	return total
}

func TestSignVerify10kFiles(t *testing.T) {
	t.Parallel()
	f := &signFixture{data: t.TempDir(), keys: t.TempDir(), kb: t.TempDir()}
	writeManyFiles(t, f.kb, 10_000, 64)
	f.key = newKey(t, f.data, f.keys, "alice")
	cg(t, f.data, 0, "trust", "add", "--principal", "alice@example.com", "--key", f.key+".pub", "--scope", "file:///kb/")
	f.manifest = filepath.Join(t.TempDir(), "big.manifest")

	start := time.Now()
	out := f.sign(t)
	signed := time.Since(start)
	if !strings.Contains(out, "10000 documents") {
		t.Errorf("sign:\n%s", out)
	}
	if n := len(readManifest(t, f.manifest).Entries); n != 10_000 {
		t.Errorf("manifest has %d entries", n)
	}
	start = time.Now()
	out = f.verify(t, 0)
	verified := time.Since(start)
	if !strings.Contains(out, "all 10000 documents") {
		t.Errorf("verify:\n%s", out)
	}
	t.Logf("10,000 files: sign %v, verify %v", signed, verified)

	// One changed file among 10,000 is found and named.
	writeText(t, filepath.Join(f.kb, "d42", "doc04242.md"), "changed\n")
	wantFails(t, f.verify(t, 1), "FAIL changed file:///kb/d42/doc04242.md:")
}

// benchKB is 10,000 files of about 2 KB with a trusted signer.
func benchKB(b *testing.B) (f *signFixture, total int64) {
	b.Helper()
	f = &signFixture{data: b.TempDir(), keys: b.TempDir(), kb: b.TempDir()}
	total = writeManyFiles(b, f.kb, 10_000, 2048)
	f.key = newKey(b, f.data, f.keys, "alice")
	cg(b, f.data, 0, "trust", "add", "--principal", "alice@example.com", "--key", f.key+".pub", "--scope", "file:///kb/")
	f.manifest = filepath.Join(b.TempDir(), "bench.manifest")
	return f, total
}

func BenchmarkSign10k(b *testing.B) {
	f, total := benchKB(b)
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		cg(b, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, f.kb)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "files/s")
}

func BenchmarkVerify10k(b *testing.B) {
	f, total := benchKB(b)
	cg(b, f.data, 0, "sign", "--key", f.key, "--uri-prefix", "file:///kb/", "-o", f.manifest, f.kb)
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		cg(b, f.data, 0, "verify", f.manifest, f.kb)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "files/s")
}
