package sshsig

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/allowed_signers.golden")

// equalSigners compares everything but Line (String writes one line, so a
// re-parse is always line 1) and compares times as instants.
func equalSigners(a, b AllowedSigner) bool {
	return a.Principals == b.Principals &&
		a.CertAuthority == b.CertAuthority &&
		a.Namespaces == b.Namespaces &&
		a.ValidAfter.Equal(b.ValidAfter) &&
		a.ValidBefore.Equal(b.ValidBefore) &&
		(a.Key == nil) == (b.Key == nil) &&
		(a.Key == nil || bytes.Equal(a.Key.Marshal(), b.Key.Marshal())) &&
		a.Comment == b.Comment
}

func formatSigner(a AllowedSigner) string {
	key := "<nil>"
	if a.Key != nil {
		key = a.Key.Type()
	}
	return fmt.Sprintf("{line %d principals %q ca %v namespaces %q after %v before %v key %s comment %q}",
		a.Line, a.Principals, a.CertAuthority, a.Namespaces, a.ValidAfter, a.ValidBefore, key, a.Comment)
}

func TestParseAllowedSignersGolden(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "allowed_signers"))
	signers, err := ParseAllowedSigners(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}

	// Spot checks of what the lines say.
	byLine := map[int]AllowedSigner{}
	for _, s := range signers {
		byLine[s.Line] = s
	}
	local := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.Local)
	}
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, want := range []AllowedSigner{
		{Line: 4, Principals: "alice@example.com", Comment: "alice's laptop"},
		{Line: 5, Principals: "bob@example.com,carol@example.com", Namespaces: "ctxguard-kb"},
		{Line: 6, Principals: "*@example.com,!mallory@example.com", CertAuthority: true, Namespaces: "ctxguard-*,git", Comment: "example CA"},
		{Line: 7, Principals: "dave@example.com", ValidAfter: local(2024, 1, 1, 0, 0, 0), ValidBefore: utc(2099, 12, 31, 23, 59, 59)},
		{Line: 8, Principals: "erin smith@example.com", Namespaces: `a"b,c d`},
		{Line: 9, Principals: "#frank", ValidAfter: utc(2024, 1, 2, 15, 30, 0), Comment: "security key"},
		{Line: 11, Principals: "grace", ValidBefore: utc(2030, 1, 1, 0, 0, 0), Comment: "a certificate as a plain key"},
		{Line: 12, Principals: "heidi", CertAuthority: true, ValidAfter: local(2024, 2, 29, 12, 34, 56)},
		{Line: 13, Principals: "ivan@example.com", Comment: "comment   with  spaces"},
		{Line: 15, Principals: "judy,,!,?ud*", Namespaces: "*,!file", Comment: "#not-a-comment"},
	} {
		got, ok := byLine[want.Line]
		if !ok {
			t.Fatalf("no signer from line %d", want.Line)
		}
		want.Key = got.Key
		if !equalSigners(got, want) || got.Line != want.Line {
			t.Errorf("line %d:\n got %s\nwant %s", want.Line, formatSigner(got), formatSigner(want))
		}
	}
	if len(signers) != 10 {
		t.Fatalf("%d signers, want 10", len(signers))
	}

	var out strings.Builder
	for _, s := range signers {
		out.WriteString(s.String() + "\n")
	}
	goldenPath := filepath.Join("testdata", "allowed_signers.golden")
	if *update {
		writeFile(t, goldenPath, []byte(out.String()))
	}
	if golden := string(readFile(t, goldenPath)); out.String() != golden {
		t.Fatalf("String() output differs from %s (go test -run Golden -update to accept):\n%s", goldenPath, out.String())
	}

	// The written lines read back as the same signers, by us...
	again, err := ParseAllowedSigners(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(signers) {
		t.Fatalf("%d signers read back, want %d", len(again), len(signers))
	}
	for i := range again {
		if !equalSigners(again[i], signers[i]) {
			t.Errorf("read back:\n got %s\nwant %s", formatSigner(again[i]), formatSigner(signers[i]))
		}
	}

	// ... and by ssh-keygen, which reads every line looking for the key of a
	// signature (one not in the file) and complains about lines it cannot
	// parse.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "allowed_signers"), []byte(out.String()))
	sig, err := Sign([]byte(manifest), goKey(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "manifest.sig"), sig)
	stdout, stderr, _ := runKeygen(t, dir, nil, nil, "-Y", "find-principals", "-f", "allowed_signers", "-s", "manifest.sig")
	if stdout != "" || strings.TrimSpace(stderr) != "No principal matched." {
		t.Fatalf("ssh-keygen -Y find-principals on the written file:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
}

func TestParseAllowedSignersErrors(t *testing.T) {
	key := goKey(t).PublicKey()
	k := key.Type() + " " + base64.StdEncoding.EncodeToString(key.Marshal())
	first := "alice@example.com " + k + "\n# comment\n\n"
	for _, tc := range []struct {
		name, line, want string
	}{
		{"unknown option", `bob foo="x y" ` + k, `unknown option "foo"`},
		{"unknown flag", `bob restrict ` + k, `unknown option "restrict"`},
		{"unknown option after known", `bob cert-authority,no-touch-required ` + k, `unknown option "no-touch-required"`},
		{"unterminated quote in option", `bob namespaces="ctxguard-kb ` + k, "unterminated quote in options"},
		{"unterminated quoted principals", `"bob ` + k, "unterminated quote in principals"},
		{"quote inside principals", `b"o"b ` + k, "quote inside the principals"},
		{"text after quoted principals", `"bob"x ` + k, "text right after the quoted principals"},
		{"empty principals", `"" ` + k, "empty principals"},
		{"unquoted value", `bob namespaces=ctxguard-kb ` + k, "must be in double quotes"},
		{"text after value", `bob namespaces="a"b ` + k, `unexpected "b" after an option value`},
		{"empty namespaces", `bob namespaces="" ` + k, `namespaces="" matches no namespace`},
		{"duplicate namespaces", `bob namespaces="a",namespaces="b" ` + k, `more than one "namespaces"`},
		{"duplicate valid-after", `bob valid-after="20240101",valid-after="20240102" ` + k, `more than one "valid-after"`},
		{"duplicate valid-before", `bob valid-before="20240101",valid-before="20240102" ` + k, `more than one "valid-before"`},
		{"cert-authority with value", `bob cert-authority="yes" ` + k, "cert-authority takes no value"},
		{"empty option", `bob cert-authority,,namespaces="a" ` + k, "empty option"},
		{"leading comma", `bob ,cert-authority ` + k, "empty option"},
		{"trailing comma", `bob cert-authority, ` + k, "options end with a comma"},
		{"short date", `bob valid-after="2024011" ` + k, `"2024011" is not YYYYMMDD`},
		{"letters in date", `bob valid-after="2024O101" ` + k, "is not YYYYMMDD"},
		{"february 30", `bob valid-after="20240230" ` + k, "day out of range"},
		{"hour 24", `bob valid-before="202401012400" ` + k, "hour out of range"},
		{"epoch", `bob valid-after="19700101Z" ` + k, "not after 1970"},
		{"before epoch", `bob valid-after="19600101" ` + k, "not after 1970"},
		{"missing key", `bob`, "missing key"},
		{"missing key after blanks", "bob \t ", "missing key"},
		{"missing key after options", `bob cert-authority`, "missing key after the options"},
		{"missing principals", k + " comment", "missing principals"},
		{"key type without data", `bob ssh-ed25519`, `"ssh-ed25519" without key data`},
		{"bad base64", `bob ssh-ed25519 AAAA!!!!`, "bad key"},
		{"not a key", `bob ssh-ed25519 ` + base64.StdEncoding.EncodeToString([]byte("hello, world")), "bad key"},
		{"truncated key", `bob ` + k[:len(k)-8], "bad key"},
		{"type mismatch", `bob ssh-rsa ` + strings.Fields(k)[1], `written as "ssh-rsa" but is "ssh-ed25519"`},
		{"bad key after options", `bob cert-authority ssh-ed25519 AAAA`, "bad key"},
		{"NUL", "bob " + k + " a\x00b", "NUL byte"},
		{"long pattern", "bob," + strings.Repeat("x", 1023) + " " + k, "longer than 1022 bytes"},
		{"long namespace pattern", `bob namespaces="` + strings.Repeat("x", 1023) + `" ` + k, "longer than 1022 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAllowedSigners(strings.NewReader(first + tc.line + "\n" + first))
			if err == nil {
				t.Fatalf("%q parsed", tc.line)
			}
			if !strings.Contains(err.Error(), "line 4: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one naming line 4 and containing %q", err, tc.want)
			}
		})
	}
}

func TestParseAllowedSignersLimits(t *testing.T) {
	key := goKey(t).PublicKey()
	line := "alice " + key.Type() + " " + base64.StdEncoding.EncodeToString(key.Marshal())

	// A long but allowed comment, and one byte too many.
	ok := line + " " + strings.Repeat("c", maxAllowedSignersLine-len(line)-1)
	if s, err := ParseAllowedSigners(strings.NewReader(ok + "\n")); err != nil || len(s) != 1 {
		t.Fatalf("line of %d bytes: %v", len(ok), err)
	}
	if _, err := ParseAllowedSigners(strings.NewReader("# x\n" + ok + "c\n")); err == nil || !strings.Contains(err.Error(), "line 2: longer than") {
		t.Fatalf("line of %d bytes: %v", len(ok)+1, err)
	}

	// A file of many comment lines, just over the limit.
	big := strings.Repeat("#"+strings.Repeat("x", 1022)+"\n", 16<<10)
	if _, err := ParseAllowedSigners(strings.NewReader(big)); err != nil {
		t.Fatalf("16 MiB file: %v", err)
	}
	if _, err := ParseAllowedSigners(strings.NewReader(big + "\n")); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("file over 16 MiB: %v", err)
	}
	if _, err := ParseAllowedSigners(strings.NewReader("")); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]time.Time{
		"20240101":          time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local),
		"20240101Z":         time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"20240101z":         time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"20240101UTC":       time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"202401011230":      time.Date(2024, 1, 1, 12, 30, 0, 0, time.Local),
		"202401011230Z":     time.Date(2024, 1, 1, 12, 30, 0, 0, time.UTC),
		"20240101123059":    time.Date(2024, 1, 1, 12, 30, 59, 0, time.Local),
		"20240101123059Z":   time.Date(2024, 1, 1, 12, 30, 59, 0, time.UTC),
		"99991231235959Z":   time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		"19700101000001Z":   time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
		"20240229":          time.Date(2024, 2, 29, 0, 0, 0, 0, time.Local),
		"20240101123059uTc": time.Date(2024, 1, 1, 12, 30, 59, 0, time.UTC),
	} {
		got, err := parseTimestamp(in)
		if err != nil || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Z", "2024", "2024010", "202401011", "2024010112301", "202401011230599", "20230229", "20241301", "20240132", "202401016000", "20240101126000", "20240101123060", "-2024010", "+20240101", "20240101 ", " 20240101", "20240101ZZ", "2024-01-01", "19700101Z", "19691231"} {
		if got, err := parseTimestamp(in); err == nil {
			t.Errorf("parseTimestamp(%q) = %v, want an error", in, got)
		}
	}
}

func TestAllowedSignerStringTimes(t *testing.T) {
	key := goKey(t).PublicKey()
	for _, tc := range []struct {
		after, before time.Time
		want          string
	}{
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, `valid-after="20240101Z"`},
		{time.Date(2024, 1, 1, 12, 30, 0, 0, time.Local), time.Time{}, `valid-after="202401011230"`},
		{time.Time{}, time.Date(2024, 1, 1, 12, 30, 5, 0, time.UTC), `valid-before="20240101123005Z"`},
		// Other zones are written in UTC.
		{time.Date(2024, 1, 1, 12, 0, 0, 0, time.FixedZone("X", 3600)), time.Time{}, `valid-after="202401011100Z"`},
		// Sub-second bounds narrow the window.
		{time.Date(2024, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(2024, 1, 2, 0, 0, 0, 999, time.UTC), `valid-after="20240101000001Z",valid-before="20240102Z"`},
	} {
		s := AllowedSigner{Principals: "p", ValidAfter: tc.after, ValidBefore: tc.before, Key: key}.String()
		if !strings.Contains(s, " "+tc.want+" ") {
			t.Errorf("String() = %q, want it to contain %q", s, tc.want)
		}
	}
}

// A signer that no line can express must not come out as a line that means
// something else: String writes a comment, which adds no signer.
func TestAllowedSignerStringUnrepresentable(t *testing.T) {
	key := goKey(t).PublicKey()
	other := goKey(t).PublicKey()
	injected := other.Type() + " " + base64.StdEncoding.EncodeToString(other.Marshal())
	for name, s := range map[string]AllowedSigner{
		"no key":                {Principals: "alice"},
		"no principals":         {Key: key},
		"quote in principals":   {Principals: `alice" ` + injected + ` "`, Key: key},
		"newline in principals": {Principals: "alice " + injected + "\nbob", Key: key},
		"newline in namespaces": {Principals: "alice", Namespaces: "a\nmallory " + injected, Key: key},
		"backslash at end":      {Principals: "alice", Namespaces: `a\`, Key: key},
		"NUL in principals":     {Principals: "alice\x00", Key: key},
		"time before 1970":      {Principals: "alice", ValidAfter: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Key: key},
		"time after 9999":       {Principals: "alice", ValidBefore: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Key: key},
		"pattern too long":      {Principals: strings.Repeat("a", 1023), Key: key},
		"namespace too long":    {Principals: "a", Namespaces: strings.Repeat("a", 1023), Key: key},
	} {
		line := s.String()
		if !strings.HasPrefix(line, "#") || strings.ContainsAny(line, "\n\x00") {
			t.Errorf("%s: String() = %q, want a comment line", name, line)
		}
		if got, err := ParseAllowedSigners(strings.NewReader(line + "\n")); err != nil || len(got) != 0 {
			t.Errorf("%s: String() read back as %v, %v", name, got, err)
		}
	}

	// A comment with line breaks is flattened: comments mean nothing.
	s := AllowedSigner{Principals: "alice", Key: key, Comment: "laptop\nmallory " + injected}
	got, err := ParseAllowedSigners(strings.NewReader(s.String()))
	if err != nil || len(got) != 1 || got[0].Comment != "laptop mallory "+injected {
		t.Fatalf("String() = %q read back as %v, %v", s.String(), got, err)
	}
}

// ssh-keygen and Authorize must read the options written by String the same
// way: each case is checked against both.
func TestAllowedSignerOptionsAgreeWithSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	signer, pub := newKeygenKey(t, dir, "key", "-t", "ed25519")
	writeFile(t, filepath.Join(dir, "manifest"), []byte(manifest))
	sig, err := Sign([]byte(manifest), signer)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		signer    AllowedSigner
		principal string
		ok        bool
	}{
		{"plain", AllowedSigner{Principals: "alice@example.com"}, "alice@example.com", true},
		{"other principal", AllowedSigner{Principals: "alice@example.com"}, "bob@example.com", false},
		{"principal pattern", AllowedSigner{Principals: "*@example.com"}, "alice@example.com", true},
		{"negated principal", AllowedSigner{Principals: "*@example.com,!alice@example.com"}, "alice@example.com", false},
		{"quoted principals", AllowedSigner{Principals: "alice smith,#bob"}, "alice smith", true},
		{"leading #", AllowedSigner{Principals: "#bob"}, "#bob", true},
		{"namespace", AllowedSigner{Principals: "a", Namespaces: "ctxguard-kb"}, "a", true},
		{"other namespace", AllowedSigner{Principals: "a", Namespaces: "git,file"}, "a", false},
		{"namespace pattern", AllowedSigner{Principals: "a", Namespaces: "git,ctxguard-*"}, "a", true},
		{"namespace ? pattern", AllowedSigner{Principals: "a", Namespaces: "ctxguard-?b"}, "a", true},
		{"negated namespace", AllowedSigner{Principals: "a", Namespaces: "*,!ctxguard-kb"}, "a", false},
		{"namespace with quote", AllowedSigner{Principals: "a", Namespaces: `x"y,ctxguard-kb`}, "a", true},
		{"valid after", AllowedSigner{Principals: "a", ValidAfter: at.Add(-time.Hour)}, "a", true},
		{"not yet valid", AllowedSigner{Principals: "a", ValidAfter: at.Add(time.Hour)}, "a", false},
		{"valid after, inclusive", AllowedSigner{Principals: "a", ValidAfter: at}, "a", true},
		{"valid before", AllowedSigner{Principals: "a", ValidBefore: at.Add(time.Hour)}, "a", true},
		{"expired", AllowedSigner{Principals: "a", ValidBefore: at.Add(-time.Second)}, "a", false},
		{"valid before, inclusive", AllowedSigner{Principals: "a", ValidBefore: at}, "a", true},
		{"cert-authority with a plain key", AllowedSigner{Principals: "a", CertAuthority: true}, "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.signer.Key = pub
			line := tc.signer.String()
			ok, out := keygenVerify(t, dir, line+"\n", tc.principal, sig, "manifest", "-O", "verify-time="+at.Format("20060102150405")+"Z")
			if ok != tc.ok {
				t.Errorf("ssh-keygen -Y verify -I %q with %q: ok=%v, want %v\n%s", tc.principal, line, ok, tc.ok, out)
			}
			parsed, err := ParseAllowedSigners(strings.NewReader(line))
			if err != nil {
				t.Fatal(err)
			}
			// Authorize says which lines hold; whether a given identity is
			// among a line's principals is its pattern list's to say.
			got := len(Authorize(parsed, pub, Namespace, at)) > 0 && matchPatternList(tc.principal, parsed[0].Principals) == 1
			if got != tc.ok {
				t.Errorf("Authorize with %q for %q: %v, want %v", line, tc.principal, got, tc.ok)
			}
		})
	}
}
