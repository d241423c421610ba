package sshsig

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestAuthorize(t *testing.T) {
	key := goKey(t).PublicKey()
	other := goKey(t).PublicKey()
	at := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	line := func(principals string, opts ...func(*AllowedSigner)) AllowedSigner {
		s := AllowedSigner{Principals: principals, Key: key}
		for _, o := range opts {
			o(&s)
		}
		return s
	}
	ns := func(p string) func(*AllowedSigner) { return func(s *AllowedSigner) { s.Namespaces = p } }
	after := func(t time.Time) func(*AllowedSigner) { return func(s *AllowedSigner) { s.ValidAfter = t } }
	before := func(t time.Time) func(*AllowedSigner) { return func(s *AllowedSigner) { s.ValidBefore = t } }
	keyed := func(k ssh.PublicKey) func(*AllowedSigner) { return func(s *AllowedSigner) { s.Key = k } }
	ca := func(s *AllowedSigner) { s.CertAuthority = true }

	for _, tc := range []struct {
		name      string
		signers   []AllowedSigner
		namespace string
		want      []string
	}{
		{"plain key", []AllowedSigner{line("alice")}, Namespace, []string{"alice"}},
		{"no signers", nil, Namespace, nil},
		{"other key", []AllowedSigner{line("alice", keyed(other))}, Namespace, nil},
		{"nil key in line", []AllowedSigner{line("alice", keyed(nil))}, Namespace, nil},
		{"cert-authority line, plain key", []AllowedSigner{line("alice", ca)}, Namespace, nil},
		{"namespace", []AllowedSigner{line("alice", ns("ctxguard-kb"))}, Namespace, []string{"alice"}},
		{"namespace mismatch", []AllowedSigner{line("alice", ns("git"))}, Namespace, nil},
		{"namespace list", []AllowedSigner{line("alice", ns("git,file,ctxguard-kb"))}, Namespace, []string{"alice"}},
		{"namespace star", []AllowedSigner{line("alice", ns("ctxguard-*"))}, Namespace, []string{"alice"}},
		{"namespace question marks", []AllowedSigner{line("alice", ns("ctxguard-??"))}, Namespace, []string{"alice"}},
		{"namespace too short", []AllowedSigner{line("alice", ns("ctxguard-?"))}, Namespace, nil},
		{"namespace is case-sensitive", []AllowedSigner{line("alice", ns("CTXGUARD-KB"))}, Namespace, nil},
		{"namespace negated", []AllowedSigner{line("alice", ns("*,!ctxguard-kb"))}, Namespace, nil},
		{"namespace negated first", []AllowedSigner{line("alice", ns("!ctxguard-kb,*"))}, Namespace, nil},
		{"namespace negated other", []AllowedSigner{line("alice", ns("*,!git"))}, Namespace, []string{"alice"}},
		{"namespace only negated", []AllowedSigner{line("alice", ns("!git"))}, Namespace, nil},
		{"asked for another namespace", []AllowedSigner{line("alice", ns("ctxguard-kb"))}, "git", nil},
		{"valid after", []AllowedSigner{line("alice", after(at.Add(-time.Second)))}, Namespace, []string{"alice"}},
		{"valid after, at the second", []AllowedSigner{line("alice", after(at))}, Namespace, []string{"alice"}},
		{"not yet valid", []AllowedSigner{line("alice", after(at.Add(time.Second)))}, Namespace, nil},
		{"not yet valid, sub-second", []AllowedSigner{line("alice", after(at.Add(time.Millisecond)))}, Namespace, nil},
		{"valid before", []AllowedSigner{line("alice", before(at.Add(time.Second)))}, Namespace, []string{"alice"}},
		{"valid before, at the second", []AllowedSigner{line("alice", before(at))}, Namespace, []string{"alice"}},
		{"expired", []AllowedSigner{line("alice", before(at.Add(-time.Second)))}, Namespace, nil},
		{"inside window", []AllowedSigner{line("alice", after(at.Add(-time.Hour)), before(at.Add(time.Hour)))}, Namespace, []string{"alice"}},
		{"principal patterns as written", []AllowedSigner{line("*@example.com,bob,!mallory@example.com,,")}, Namespace, []string{"*@example.com", "bob"}},
		{"only negated principals", []AllowedSigner{line("!mallory")}, Namespace, nil},
		{"deduplicated in file order", []AllowedSigner{line("carol,alice"), line("bob", keyed(other)), line("alice,bob"), line("carol")}, Namespace, []string{"carol", "alice", "bob"}},
		{"expired line, valid line", []AllowedSigner{line("old", before(at.Add(-time.Hour))), line("new")}, Namespace, []string{"new"}},
		{"too-long pattern matches nothing", []AllowedSigner{line("alice," + strings.Repeat("x", 1023))}, Namespace, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Authorize(tc.signers, key, tc.namespace, at)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Authorize = %q, want %q", got, tc.want)
			}
		})
	}
	if got := Authorize([]AllowedSigner{line("alice")}, nil, Namespace, at); got != nil {
		t.Fatalf("Authorize(nil key) = %q", got)
	}
}

func TestAuthorizeCertificates(t *testing.T) {
	dir := t.TempDir()
	_, caPub := newKeygenKey(t, dir, "ca", "-t", "ed25519")
	_, otherCAPub := newKeygenKey(t, dir, "otherca", "-t", "ed25519")
	newKeygenKey(t, dir, "user", "-t", "ed25519")
	now := time.Now()

	// cert makes a certificate for user.pub with ssh-keygen -s and returns it.
	n := 0
	cert := func(caFile string, args ...string) ssh.PublicKey {
		t.Helper()
		n++
		id := filepath.Join(dir, fmt.Sprintf("cert%d", n))
		writeFile(t, id+".pub", readFile(t, filepath.Join(dir, "user.pub")))
		mustKeygen(t, dir, nil, append(append([]string{"-q", "-s", caFile, "-I", "id"}, args...), id+".pub")...)
		k, err := ParsePublicKey(readFile(t, id+"-cert.pub"))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	valid := cert("ca", "-n", "alice,bob", "-V", "-1h:+1h")
	caLine := func(principals string) AllowedSigner {
		return AllowedSigner{Principals: principals, CertAuthority: true, Key: caPub}
	}

	for _, tc := range []struct {
		name    string
		signers []AllowedSigner
		key     ssh.PublicKey
		at      time.Time
		want    []string
	}{
		{"certificate", []AllowedSigner{caLine("alice")}, valid, now, []string{"alice"}},
		{"all matching principals", []AllowedSigner{caLine("*")}, valid, now, []string{"alice", "bob"}},
		{"line patterns", []AllowedSigner{caLine("a*,carol")}, valid, now, []string{"alice"}},
		{"negated principal", []AllowedSigner{caLine("*,!alice")}, valid, now, []string{"bob"}},
		{"no principal in common", []AllowedSigner{caLine("carol")}, valid, now, nil},
		{"other CA", []AllowedSigner{{Principals: "*", CertAuthority: true, Key: otherCAPub}}, valid, now, nil},
		{"CA key without cert-authority", []AllowedSigner{{Principals: "*", Key: caPub}}, valid, now, nil},
		{"certificate as a plain key", []AllowedSigner{{Principals: "carol", Key: valid}}, valid, now, []string{"carol"}},
		{"plain key line for the certified key", []AllowedSigner{{Principals: "carol", Key: valid.(*ssh.Certificate).Key}}, valid, now, nil},
		{"line namespace", []AllowedSigner{{Principals: "*", CertAuthority: true, Namespaces: "git", Key: caPub}}, valid, now, nil},
		{"line expired", []AllowedSigner{{Principals: "*", CertAuthority: true, ValidBefore: now.Add(-time.Minute), Key: caPub}}, valid, now, nil},
		{"before the certificate", []AllowedSigner{caLine("*")}, valid, now.Add(-2 * time.Hour), nil},
		{"after the certificate", []AllowedSigner{caLine("*")}, valid, now.Add(2 * time.Hour), nil},
		{"expired certificate", []AllowedSigner{caLine("*")}, cert("ca", "-n", "alice", "-V", "20200101:20200201"), now, nil},
		{"expired certificate, at a time it was valid", []AllowedSigner{caLine("*")}, cert("ca", "-n", "alice", "-V", "20200101Z:20200201Z"), time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC), []string{"alice"}},
		{"not yet valid certificate", []AllowedSigner{caLine("*")}, cert("ca", "-n", "alice", "-V", "+1d:+2d"), now, nil},
		{"host certificate", []AllowedSigner{caLine("*")}, cert("ca", "-h", "-n", "alice", "-V", "-1h:+1h"), now, nil},
		{"certificate without principals", []AllowedSigner{caLine("*")}, cert("ca", "-V", "-1h:+1h"), now, nil},
		{"critical option", []AllowedSigner{caLine("*")}, cert("ca", "-n", "alice", "-V", "-1h:+1h", "-O", "force-command=/bin/true"), now, nil},
		{"extensions are fine", []AllowedSigner{caLine("*")}, cert("ca", "-n", "alice", "-V", "-1h:+1h", "-O", "clear", "-O", "permit-pty"), now, []string{"alice"}},
		{"CA line after plain line", []AllowedSigner{{Principals: "carol", Key: valid}, caLine("*")}, valid, now, []string{"carol", "alice", "bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Authorize(tc.signers, tc.key, Namespace, tc.at); !slices.Equal(got, tc.want) {
				t.Fatalf("Authorize = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("forged certificate", func(t *testing.T) {
		// A certificate altered after signing (here: a principal added)
		// names the CA but its signature does not check.
		c := *valid.(*ssh.Certificate)
		c.ValidPrincipals = append(slices.Clone(c.ValidPrincipals), "root")
		forged, err := ssh.ParsePublicKey(c.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if got := Authorize([]AllowedSigner{caLine("*")}, forged, Namespace, now); len(got) != 0 {
			t.Fatalf("Authorize = %q for a forged certificate", got)
		}
	})

	t.Run("certificate made in Go", func(t *testing.T) {
		caSigner := goKey(t)
		user := goKey(t)
		c := goCert(t, user.PublicKey(), caSigner, ssh.UserCert, []string{"alice"}, now.Add(-time.Hour), now.Add(time.Hour))
		signers := []AllowedSigner{{Principals: "alice", CertAuthority: true, Key: caSigner.PublicKey()}}
		if got := Authorize(signers, c, Namespace, now); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("Authorize = %q", got)
		}
		unsigned := &ssh.Certificate{Key: user.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: ssh.CertTimeInfinity}
		if got := Authorize(signers, unsigned, Namespace, now); len(got) != 0 {
			t.Fatalf("Authorize = %q for an unsigned certificate", got)
		}
		// A certificate whose CA signature is by another key that claims to
		// be the trusted CA.
		mallory := goKey(t)
		c2 := goCert(t, user.PublicKey(), mallory, ssh.UserCert, []string{"alice"}, now.Add(-time.Hour), now.Add(time.Hour))
		c2.SignatureKey = caSigner.PublicKey()
		if got := Authorize(signers, c2, Namespace, now); len(got) != 0 {
			t.Fatalf("Authorize = %q for a certificate signed by another key", got)
		}
	})
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"", "", true},
		{"a", "", false},
		{"", "*", true},
		{"", "?", false},
		{"abc", "abc", true},
		{"abc", "ab", false},
		{"abc", "abcd", false},
		{"abc", "a?c", true},
		{"abc", "a*", true},
		{"abc", "*c", true},
		{"abc", "*b*", true},
		{"abc", "*d*", false},
		{"abc", "a**c", true},
		{"abc", "???", true},
		{"abc", "????", false},
		{"alice@example.com", "*@example.com", true},
		{"alice@example.org", "*@example.com", false},
		{"aaaa", "*a*a*a*a*", true},
		{"aaa", "*a*a*a*a*", false},
		{"mississippi", "m*iss*ppi", true},
		{"mississippi", "m*iss*pi*x", false},
		{"ABC", "abc", false},
		{"a,b", "a,b", true}, // matchPattern sees one pattern; lists split on commas
	} {
		if got := matchPattern(tc.s, tc.p); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.s, tc.p, got, tc.want)
		}
	}
	// Many stars must not take exponential time.
	start := time.Now()
	if matchPattern(strings.Repeat("a", 1000), strings.Repeat("*a", 500)+"b") {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("pathological pattern took %v", d)
	}
}

func TestMatchPatternList(t *testing.T) {
	for _, tc := range []struct {
		s, list string
		want    int
	}{
		{"a", "a", 1},
		{"a", "b", 0},
		{"a", "b,a", 1},
		{"a", "!a", -1},
		{"a", "*,!a", -1},
		{"a", "!a,*", -1},
		{"a", "!b", 0},
		{"a", "!b,a", 1},
		{"", "", 0},
		{"", ",a", 1},
		{"", "a,", 0},
		{"!a", "!!a", -1},
		{"a", "a," + strings.Repeat("x", 1022), 1},
		{"a", "a," + strings.Repeat("x", 1023), 0},
	} {
		if got := matchPatternList(tc.s, tc.list); got != tc.want {
			t.Errorf("matchPatternList(%q, %.20q) = %d, want %d", tc.s, tc.list, got, tc.want)
		}
	}
}
