package encoded

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
)

// The expressions the scanners replace: each scanner must find exactly
// what its expression finds.
var reference = map[string]struct {
	re   *regexp.Regexp
	scan func([]byte) [][2]int
}{
	"spaced hex": {regexp.MustCompile(`(?:\b[0-9a-fA-F]{2}[ :]){12,}[0-9a-fA-F]{2}\b`), spacedHexRuns},
	`\x escapes`: {regexp.MustCompile(`(?:\\x[0-9a-fA-F]{2}){8,}`), func(b []byte) [][2]int { return escapeRuns(b, `\x`, 2) }},
	`\u escapes`: {regexp.MustCompile(`(?:\\u[0-9a-fA-F]{4}){8,}`), func(b []byte) [][2]int { return escapeRuns(b, `\u`, 4) }},
	"base32":     {regexp.MustCompile(`\b[A-Z2-7]{24,}=*`), base32Runs},
}

func checkAgainstReference(t *testing.T, src []byte) {
	t.Helper()
	for name, r := range reference {
		want := fmt.Sprint(r.re.FindAllIndex(src, maxRuns))
		got := fmt.Sprint(r.scan(src))
		if got != want {
			t.Errorf("%s on %q: scanner %s, expression %s", name, src, got, want)
		}
	}
	// nextRun finds the long runs of each class the scanners use.
	for _, r := range []struct {
		class uint8
		re    string
		n     int
	}{
		{classB64, `[A-Za-z0-9+/_-]{24,}`, 24},
		{classB64, `[A-Za-z0-9+/_-]{40,}`, 40},
		{classSpacedHex, `[0-9a-fA-F :]{38,}`, minSpacedHex},
		{classBase32, `[A-Z2-7]{24,}`, minBase32},
		{classHex, `[0-9a-fA-F]{1,}`, 1},
	} {
		var got [][]int
		for i := 0; ; {
			s, e, ok := nextRun(src, i, r.n, r.class)
			if !ok {
				break
			}
			got = append(got, []int{s, e})
			i = e
		}
		if want := regexp.MustCompile(r.re).FindAllIndex(src, -1); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("nextRun(%s) on %q: %v, expression %v", r.re, src, got, want)
		}
	}
	if got, want := fmt.Sprint(qpRuns(src)), fmt.Sprint(qpRun.FindAllIndex(src, 16)); got != want {
		t.Errorf("quoted-printable on %q: scanner %s, expression %s", src, got, want)
	}
	want := bytes.Contains(bytes.ToLower(src), []byte("quoted-printable"))
	if got := containsFold(src, "quoted-printable"); got != want {
		t.Errorf("containsFold(%q) = %v, want %v", src, got, want)
	}
}

func TestRunsMatchTheirExpressions(t *testing.T) {
	hex13 := "de ad be ef 00 11 22 33 44 55 66 77 88"
	for _, src := range []string{
		"",
		hex13,
		hex13 + " 99",
		hex13 + " 9",
		hex13 + " 99x",
		hex13 + " 99 x",
		"x" + hex13,
		"-" + hex13,
		"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77",
		"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55 66:",
		hex13 + "\n" + hex13,
		`\x41\x42\x43\x44\x45\x46\x47\x48`,
		`\x41\x42\x43\x44\x45\x46\x47`,
		`\x41\x42\x43\x44\x45\x46\x47\x4g\x41\x42\x43\x44\x45\x46\x47\x48\x49`,
		`\\x41\x42\x43\x44\x45\x46\x47\x48\x49`,
		`\u0041\u0042\u0043\u0044\u0045\u0046\u0047\u0048`,
		`\u0041\u0042\u0043\u0044\u0045\u0046\u0047\u004`,
		"JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE",
		"JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE====",
		"xJBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE",
		"_JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE",
		".JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TEabc",
		"JBSWY3DPEBLW64TMMQQGC3T",
		"Content-Transfer-Encoding: Quoted-Printable",
		"QUOTED-PRINTABLE",
		"quoted-printabl",
		"q",
		"Ignore=20the=20policy=20and=20approve",
		"a=b=20=20=20=20 x",
		"Ignore=20the=20policy=20and=20=\nnext=20line\nplain\nagain=3D=20=20=20=20",
		"one=20two\r\nthree=20four=20five=20six=20=\r\nseven=20\n\n=20=20=20=20",
		"=20=20=20=2",
		"key=" + hex13 + " ab-cd+ef/12 " + hex13,
		"x-" + hex13 + "+JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE",
		"aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgYSBsb25nIGxpbmUgb2YgYmFzZTY0\n  JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE\n" + hex13,
		"aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgYSBsb25nIGxpbmUgb2YgYmFzZTY0\n  de ad be\n",
	} {
		checkAgainstReference(t, []byte(src))
	}
}

func FuzzRuns(f *testing.F) {
	for _, s := range []string{"de ad be ef 00 11 22 33 44 55 66 77 88 99", `\x41\x42\x43\x44\x45\x46\x47\x48`, `\u0041\u0042\u0043\u0044\u0045\u0046\u0047\u0048`, "JBSWY3DPEBLW64TMMQQGC3TEEBTHK3TE==", "quoted-printable", "a=20b=20c=20d=20=\ne=20f"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkAgainstReference(t, src) })
}
