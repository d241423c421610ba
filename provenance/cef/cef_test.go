package cef

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleRecord() *ctxguard.Record {
	return &ctxguard.Record{Seq: 42, Time: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC),
		Origin: ctxguard.Origin{Server: "wiki|prod", Transport: "streamable-http", Session: "s-1", Client: ctxguard.Peer{Name: "claude", Version: "1.2"},
			Message: "response", Method: "resources/read", URI: "wiki://kb/pay=ment\\s\nCEF:0|forged|event", Caller: &ctxguard.Caller{TokenSHA256: "ab12", Subject: "alice@example.com"}},
		Kind: ctxguard.KindText, MIMEType: "text/markdown", Size: 1234, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Verdict: ctxguard.VerdictSuspicious, Score: 0.91, Baseline: &ctxguard.Baseline{Status: ctxguard.BaselineDrifted},
		Decision: ctxguard.DecisionQuarantine, QuarantineID: "q-7", Note: "changed since the last read"}
}

func TestGolden(t *testing.T) {
	recs := []*ctxguard.Record{sampleRecord(),
		{Seq: 43, Time: time.Date(2026, 11, 2, 9, 31, 0, 0, time.UTC), Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "s-2", Message: "response", Method: "tools/call", Tool: "search"},
			Kind: ctxguard.KindText, Size: 10, SHA256: "00", Verdict: ctxguard.VerdictClean, Decision: ctxguard.DecisionPass},
		{Seq: 44, Time: time.Date(2026, 11, 2, 9, 32, 0, 0, time.UTC), Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "s-2", Message: "anomaly", Method: "resources/read", URI: "file:///kb/pay.md"},
			Kind: ctxguard.KindAnomaly, SHA256: "01", Anomaly: &ctxguard.Anomaly{Rule: ctxguard.RuleHotChange, Severity: ctxguard.SeverityHigh, Key: "file:///kb/pay.md",
				Detail: "changed while read often: 40 reads in 24h", Observed: 40, Threshold: 20, Window: "24h0m0s"}}}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	cw := NewWriter(w, "1.0.0")
	for _, r := range recs {
		if err := cw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	const golden = "testdata/records.cef"
	if *update {
		os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("got\n%s\nwant\n%s", out.Bytes(), want)
	}
}

// parse splits a CEF line into its seven header fields and extension
// map, the way a SIEM's parser does.
func parse(t *testing.T, line string) ([]string, map[string]string) {
	t.Helper()
	if strings.ContainsAny(line, "\n\r") {
		t.Fatalf("line break inside an event: %q", line)
	}
	var header []string
	var cur strings.Builder
	i := 0
	for ; i < len(line) && len(header) < 7; i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '|':
			header = append(header, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(header) != 7 {
		t.Fatalf("%d header fields in %q", len(header), line)
	}
	rest := line[i:]
	// Keys sit before unescaped '='; a value runs to the space before
	// the next key.
	var eqs []int
	for j := 0; j < len(rest); j++ {
		if rest[j] == '\\' {
			j++
			continue
		}
		if rest[j] == '=' {
			eqs = append(eqs, j)
		}
	}
	ext := map[string]string{}
	for n, eq := range eqs {
		start := strings.LastIndexByte(rest[:eq], ' ') + 1
		end := len(rest)
		if n+1 < len(eqs) {
			end = strings.LastIndexByte(rest[:eqs[n+1]], ' ')
		}
		k := rest[start:eq]
		if _, dup := ext[k]; dup {
			t.Fatalf("key %s twice in %q", k, line)
		}
		ext[k] = Unescape(rest[eq+1 : end])
	}
	return header, ext
}

func TestValuesRoundTrip(t *testing.T) {
	r := sampleRecord()
	header, ext := parse(t, string(Append(nil, r, "1.0.0")))
	if header[0] != "CEF:0" || header[4] != "quarantine" || header[6] != "7" {
		t.Fatalf("header %q", header)
	}
	for k, want := range map[string]string{"request": r.URI, "destinationServiceName": r.Server, "suser": "alice@example.com",
		"cs1": "ab12", "fileHash": r.SHA256, "act": "quarantine", "cs3": "drifted", "cs4": "suspicious", "rt": "1793611800000",
		"requestClientApplication": "claude/1.2", "msg": r.Note, "externalId": "42"} {
		if ext[k] != want {
			t.Errorf("%s = %q, want %q", k, ext[k], want)
		}
	}
}

// FuzzAppend: whatever a server puts in a record's strings, the event
// stays one line with seven header fields, and the values read back.
func FuzzAppend(f *testing.F) {
	f.Add("wiki|prod", "a=b\\c\nd", "note\r\n|=")
	f.Add("", "", "")
	f.Add("a\x00b", "x\u2028y\u0085z", "tab\there\x1b[2J")
	f.Fuzz(func(t *testing.T, server, uri, note string) {
		r := sampleRecord()
		r.Server, r.URI, r.Note = server, uri, note
		line := string(Append(nil, r, "v"))
		for _, c := range line {
			if c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029 {
				t.Fatalf("control character or line break %U in %q", c, line)
			}
		}
		_, ext := parse(t, line)
		// Leading or trailing spaces of a value are ambiguous in CEF; the
		// rest must survive.
		for k, want := range map[string]string{"request": uri, "msg": note} {
			want = clean(want)
			if strings.TrimSpace(want) != "" && strings.TrimSpace(ext[k]) != strings.TrimSpace(want) {
				t.Fatalf("%s: %q read back as %q from %q", k, want, ext[k], line)
			}
		}
	})
}

// clean is what an extension value reads back as: control characters and
// Unicode line breaks (but \n and \r, which are escaped) as spaces.
func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if n := breakAt(s, i); n > 0 {
			b.WriteByte(' ')
			i += n - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
