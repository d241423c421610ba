package baseline

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
	"github.com/ctxguard/ctxguard/store/bolt"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// testKey is a signing key, written to disk as ssh-keygen would.
type testKey struct {
	signer ssh.Signer
	path   string // the private key file
}

func newKey(t testing.TB) testKey {
	t.Helper()
	priv, pub, err := sshsig.GenerateKey("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sshsig.ParsePrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p+".pub", pub, 0o644)
	return testKey{s, p}
}

func trustFor(principal string, k testKey, scopes ...string) *Trust {
	t := &Trust{Scopes: map[string][]string{}}
	if err := t.Add(principal, k.signer.PublicKey(), scopes); err != nil {
		panic(err)
	}
	return t
}

// sign writes a manifest of docs (URI → content) at dir/name and returns
// its path.
func sign(t testing.TB, dir, name string, k testKey, h Header, docs map[string]string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	b, err := NewBuilder(out)
	if err != nil {
		t.Fatal(err)
	}
	for uri, body := range docs {
		if err := b.Add(uri, "text/markdown", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if h.Signer == "" {
		h.Signer = sshsig.Fingerprint(k.signer.PublicKey())
	}
	if _, err := b.Finish(h, k.signer); err != nil {
		t.Fatal(err)
	}
	return out
}

func header(seq uint64) Header {
	return Header{Name: "acme-kb", Sequence: seq, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(24 * time.Hour), URIPrefix: "file:///kb/"}
}

var docs = map[string]string{
	"file:///kb/a.md":     "# A\nalpha\n",
	"file:///kb/sub/b.md": "# B\nbeta\n",
}

func kinds(ps []Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, string(p.Kind))
	}
	return strings.Join(s, ",")
}

func TestVerify(t *testing.T) {
	alice, mallory := newKey(t), newKey(t)
	trusted := trustFor("alice@example.com", alice, "file:///kb/")
	tests := []struct {
		name  string
		key   testKey
		trust *Trust
		edit  func(h *Header)
		// tamper changes the manifest bytes after signing.
		tamper func([]byte) []byte
		want   string // the problem kinds, comma-separated; "" when it holds
	}{
		{name: "holds", key: alice, trust: trusted},
		{name: "one byte tampered", key: alice, trust: trusted, tamper: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"size":10`, `"size":11`, 1))
		}, want: "bad-signature"},
		{name: "wrong key", key: mallory, trust: trusted, want: "unknown-signer"},
		{name: "key outside its scope", key: alice, trust: trustFor("alice@example.com", alice, "file:///other/"), want: "out-of-scope,out-of-scope"},
		{name: "scope is a path boundary", key: alice, trust: trustFor("alice@example.com", alice, "file:///k"), want: "out-of-scope,out-of-scope"},
		{name: "expired", key: alice, trust: trusted, edit: func(h *Header) { h.IssuedAt, h.ExpiresAt = now.Add(-48*time.Hour), now.Add(-time.Hour) }, want: "expired"},
		{name: "issued in the future", key: alice, trust: trusted, edit: func(h *Header) { h.IssuedAt, h.ExpiresAt = now.Add(time.Hour), now.Add(48*time.Hour) }, want: "not-yet-valid"},
		{name: "names another signer", key: alice, trust: trusted, edit: func(h *Header) { h.Signer = sshsig.Fingerprint(mallory.signer.PublicKey()) }, want: "signer-mismatch"},
		{name: "revoked", key: alice, trust: func() *Trust {
			t := trustFor("alice@example.com", alice, "file:///kb/")
			t.Remove("alice@example.com")
			return t
		}(), want: "unknown-signer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header(1)
			if tt.edit != nil {
				tt.edit(&h)
			}
			p := sign(t, t.TempDir(), "m.json", tt.key, h, docs)
			raw, _ := os.ReadFile(p)
			sig, _ := os.ReadFile(p + SignatureSuffix)
			if tt.tamper != nil {
				changed := tt.tamper(raw)
				if string(changed) == string(raw) {
					t.Fatal("tamper changed nothing")
				}
				raw = changed
			}
			v, err := Verify(raw, sig, tt.trust, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(v.Problems); got != tt.want {
				t.Fatalf("problems %q, want %q: %v", got, tt.want, v.Problems)
			}
			if (tt.want != "" && tt.want != "expired") != v.Rejected() {
				t.Fatalf("Rejected() = %v for %q", v.Rejected(), tt.want)
			}
		})
	}
}

// A manifest signed with ssh-keygen -Y sign verifies like one of ours, and
// one signed for another namespace does not.
func TestVerifySSHKeygenSignature(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed (Debian package openssh-client): ", err)
	}
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			keyPath := filepath.Join(dir, "id")
			if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-f", keyPath).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v %s", err, out)
			}
			pubRaw, _ := os.ReadFile(keyPath + ".pub")
			pub, err := sshsig.ParsePublicKey(pubRaw)
			if err != nil {
				t.Fatal(err)
			}
			tr := &Trust{Scopes: map[string][]string{}}
			if err := tr.Add("owner", pub, []string{"file:///kb/"}); err != nil {
				t.Fatal(err)
			}
			h := header(1)
			h.Signer = sshsig.Fingerprint(pub)
			b, _ := NewBuilder(filepath.Join(dir, "m.json"))
			b.Add("file:///kb/a.md", "text/markdown", []byte("a"))
			raw, err := b.Finish(h, nil) // unsigned: ssh-keygen signs it
			if err != nil {
				t.Fatal(err)
			}
			for _, ns := range []string{sshsig.Namespace, "git"} {
				os.Remove(filepath.Join(dir, "m.json.sig"))
				if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-n", ns, "-f", keyPath, filepath.Join(dir, "m.json")).CombinedOutput(); err != nil {
					t.Fatalf("ssh-keygen -Y sign: %v %s", err, out)
				}
				sig, _ := os.ReadFile(filepath.Join(dir, "m.json.sig"))
				v, err := Verify(raw, sig, tr, now)
				if err != nil {
					t.Fatal(err)
				}
				if ok := !v.Rejected(); ok != (ns == sshsig.Namespace) {
					t.Fatalf("namespace %s: accepted=%v, problems %v", ns, ok, v.Problems)
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	alice := newKey(t)
	dir := t.TempDir()
	sign(t, dir, "live.json", alice, header(1), docs)
	old := header(1)
	old.Name, old.IssuedAt, old.ExpiresAt = "archive", now.Add(-48*time.Hour), now.Add(-time.Hour)
	sign(t, dir, "expired.json", alice, old, map[string]string{"file:///kb/old.md": "old\n"})
	bad := header(1)
	bad.Name = "other"
	sign(t, dir, "untrusted.json", newKey(t), bad, map[string]string{"file:///kb/evil.md": "evil\n"})

	set, err := Load(context.Background(), []string{dir}, trustFor("alice", alice, "file:///kb/"), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	tests := []struct {
		uri, content string
		want         ctxguard.BaselineStatus
	}{
		{"file:///kb/a.md", "# A\nalpha\n", ctxguard.BaselineMatch},
		{"file:///kb/a.md", "# A\nalpha!\n", ctxguard.BaselineDrifted},
		{"file:///kb/new.md", "new", ctxguard.BaselineUnsigned},
		{"file:///kb/old.md", "old\n", ctxguard.BaselineExpired},
		{"file:///kb/evil.md", "evil\n", ctxguard.BaselineRejected},
	}
	for _, tt := range tests {
		c := set.Lookup(tt.uri, sum(tt.content), now)
		if c.Status != tt.want {
			t.Errorf("%s %q: %s, want %s", tt.uri, tt.content, c.Status, tt.want)
		}
	}
	// A drift can be diffed against the snapshot.
	c := set.Lookup("file:///kb/a.md", sum("x"), now)
	snap, err := c.Manifest.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := snap.Content(c.Entry.SHA256, c.Entry.Size)
	if err != nil || string(signed) != "# A\nalpha\n" {
		t.Fatalf("snapshot content %q, %v", signed, err)
	}
	d, _, _ := Diff(signed, []byte("# A\nalpha!\n"), "signed", "served", DefaultMaxDiff)
	if !strings.Contains(d, "-alpha\n+alpha!\n") {
		t.Fatalf("diff:\n%s", d)
	}
	set.Close()

	// A manifest whose signature file is missing is rejected, and says so.
	os.Remove(filepath.Join(dir, "live.json"+SignatureSuffix))
	set, err = Load(context.Background(), []string{filepath.Join(dir, "live.json")}, trustFor("alice", alice, "file:///kb/"), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := set.Lookup("file:///kb/a.md", sum("# A\nalpha\n"), now); c.Status != ctxguard.BaselineRejected || !strings.Contains(c.Manifest.Reason, "no signature") {
		t.Fatalf("without its .sig: %s %q", c.Status, c.Manifest.Reason)
	}
}

// A tampered snapshot gives no diff rather than a false one.
func TestSnapshotTampered(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateSnapshot(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	real := sha256.Sum256([]byte("signed"))
	w.Add(real, []byte("forged"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSnapshot(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Content(real, 6); err == nil {
		t.Fatal("a snapshot entry that does not match its checksum was returned")
	}
	if _, err := s.Content(sha256.Sum256([]byte("other")), 5); !errors.Is(err, ErrNotInSnapshot) {
		t.Fatalf("missing entry: %v", err)
	}
}

// An older, validly signed manifest put back in place of a newer one is a
// rollback: refused at once when both are there, and after a restart when
// the store remembers the newer.
func TestRollback(t *testing.T) {
	alice := newKey(t)
	trust := trustFor("alice", alice, "file:///kb/")
	db, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	saved := t.TempDir()
	sign(t, saved, "v1.json", alice, header(1), map[string]string{"file:///kb/a.md": "old"})
	live := t.TempDir()
	sign(t, live, "m.json", alice, header(2), map[string]string{"file:///kb/a.md": "new"})

	set, err := Load(ctx, []string{live}, trust, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := set.Lookup("file:///kb/a.md", sha256.Sum256([]byte("new")), now); c.Status != ctxguard.BaselineMatch {
		t.Fatalf("sequence 2: %s", c.Status)
	}
	// Both in place: the older one is rejected; the newer one counts.
	copyManifest(t, filepath.Join(saved, "v1.json"), filepath.Join(live, "v1.json"))
	set, _ = Load(ctx, []string{live}, trust, db, now)
	if c := set.Lookup("file:///kb/a.md", sha256.Sum256([]byte("new")), now); c.Status != ctxguard.BaselineMatch {
		t.Fatalf("with an older manifest beside it: %s", c.Status)
	}
	// The newer one removed: the store still refuses the older.
	for _, suf := range []string{"", SignatureSuffix, SnapshotSuffix} {
		os.Remove(filepath.Join(live, "m.json"+suf))
	}
	set, _ = Load(ctx, []string{live}, trust, db, now)
	c := set.Lookup("file:///kb/a.md", sha256.Sum256([]byte("old")), now)
	if c.Status != ctxguard.BaselineRejected || !strings.Contains(c.Manifest.Reason, "rollback") {
		t.Fatalf("replayed sequence 1: %s (%s)", c.Status, c.Manifest.Reason)
	}
}

func copyManifest(t *testing.T, from, to string) {
	for _, suf := range []string{"", SignatureSuffix, SnapshotSuffix} {
		b, err := os.ReadFile(from + suf)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(to+suf, b, 0o644)
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		prefix, uri string
		want        bool
	}{
		{"file:///kb/", "file:///kb/a.md", true},
		{"file:///kb", "file:///kb/a.md", true},
		{"file:///kb", "file:///kb", true},
		{"file:///kb", "file:///kb-private/a.md", false},
		{"file:///kb/", "file:///kb/../etc/passwd", false},
		{"file:///kb/", "file:///kb/%2e%2E/etc/passwd", false},
		{"file:///kb/", "file:///kb/a/./b", false},
		{"file:///kb/", "file:///kb/..hidden", true},
		{"kb://", "kb://tickets/1", true},
		{"file:///kb/", "file:///KB/a.md", false},
		{"https://wiki/x", "https://wiki/x?page=1", true},
	}
	for _, tt := range tests {
		if got := covers(tt.prefix, tt.uri); got != tt.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.prefix, tt.uri, got, tt.want)
		}
	}
}

func TestTrustStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := newKey(t), newKey(t)
	tr, err := LoadTrust(dir)
	if err != nil || len(tr.Signers) != 0 {
		t.Fatalf("empty store: %v %v", tr, err)
	}
	if err := tr.Add("alice", a.signer.PublicKey(), []string{"file:///kb/", "kb://"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Add("bob", b.signer.PublicKey(), []string{"file:///wiki/"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Add("alice", a.signer.PublicKey(), []string{"file:///kb/"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ p, s string }{{"has space", "file:///kb/"}, {"a,b", "file:///kb/"}, {"carol", "kb"}, {"carol", "file:///kb/../x"}} {
		if err := tr.Add(bad.p, a.signer.PublicKey(), []string{bad.s}); err == nil {
			t.Errorf("Add(%q, %q) accepted", bad.p, bad.s)
		}
	}
	if err := tr.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Signers) != 2 || strings.Join(back.Scopes["alice"], " ") != "file:///kb/ kb://" || len(back.Scopes["bob"]) != 1 {
		t.Fatalf("reloaded: %d signers, scopes %v", len(back.Signers), back.Scopes)
	}
	if !back.Remove("alice") || back.Remove("alice") {
		t.Fatal("Remove")
	}
	back.Save(dir)
	again, _ := LoadTrust(dir)
	if len(again.Signers) != 1 || again.Signers[0].Principals != "bob" || again.Scopes["alice"] != nil {
		t.Fatalf("after rm: %+v", again)
	}
	// A damaged scopes file is an error, not an empty trust.
	os.WriteFile(filepath.Join(dir, ScopesFile), []byte("[principals.x]\nscope = 1\n"), 0o600)
	if _, err := LoadTrust(dir); err == nil {
		t.Fatal("a scopes file with an unknown key loaded")
	}
}

// The watcher picks up a manifest written after it started, and a trust
// store change, without a restart.
func TestWatcherReloads(t *testing.T) {
	alice := newKey(t)
	data, mdir := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &Watcher{Paths: []string{mdir}, TrustDir: data, Interval: 5 * time.Millisecond}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("# A\nalpha\n"))
	status := func() ctxguard.BaselineStatus { return w.Set().Lookup("file:///kb/a.md", sum, time.Now()).Status }
	if s := status(); s != ctxguard.BaselineUnsigned {
		t.Fatalf("before any manifest: %s", s)
	}
	h := header(1)
	h.IssuedAt, h.ExpiresAt = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	sign(t, mdir, "m.json", alice, h, docs)
	waitFor(t, status, ctxguard.BaselineRejected) // signed, but the key is not trusted yet
	tr, _ := LoadTrust(data)
	tr.Add("alice", alice.signer.PublicKey(), []string{"file:///kb/"})
	if err := tr.Save(data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, status, ctxguard.BaselineMatch)
}

func waitFor(t *testing.T, get func() ctxguard.BaselineStatus, want ctxguard.BaselineStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for get() != want {
		if time.Now().After(deadline) {
			t.Fatalf("status stayed %s, want %s", get(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bigManifest signs n entries and returns the directory.
func bigManifest(t testing.TB, n int) (string, testKey) {
	k := newKey(t)
	dir := t.TempDir()
	b, err := NewBuilder(filepath.Join(dir, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b.Add(fmt.Sprintf("file:///kb/dept-%03d/doc-%06d.md", i%100, i), "text/markdown", fmt.Appendf(nil, "document %d\n", i))
	}
	h := header(1)
	h.Signer = sshsig.Fingerprint(k.signer.PublicKey())
	if _, err := b.Finish(h, k.signer); err != nil {
		t.Fatal(err)
	}
	return dir, k
}

func TestLoad100kEntries(t *testing.T) {
	dir, k := bigManifest(t, 100_000)
	set, err := Load(context.Background(), []string{dir}, trustFor("o", k, "file:///kb/"), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if set.Entries() != 100_000 || set.Manifests[0].Rejected {
		t.Fatalf("%d entries, rejected %v %s", set.Entries(), set.Manifests[0].Rejected, set.Manifests[0].Reason)
	}
	for _, i := range []int{0, 31337, 99_999} {
		uri := fmt.Sprintf("file:///kb/dept-%03d/doc-%06d.md", i%100, i)
		if c := set.Lookup(uri, sha256.Sum256(fmt.Appendf(nil, "document %d\n", i)), now); c.Status != ctxguard.BaselineMatch {
			t.Fatalf("%s: %s", uri, c.Status)
		}
	}
}
