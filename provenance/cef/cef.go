// Package cef writes provenance records as ArcSight Common Event Format
// (CEF) lines, the format most SIEMs ingest. Every value comes from an MCP
// server or client, so all of it is escaped as CEF requires: a server
// cannot forge a field or a second event.
package cef

import (
	"bufio"
	"strconv"
	"strings"

	"github.com/ctxguard/ctxguard"
)

// Writer writes one CEF line per record.
type Writer struct {
	w       *bufio.Writer
	version string
	buf     []byte
}

// NewWriter writes to w; version is the product version in each header.
func NewWriter(w *bufio.Writer, version string) *Writer {
	return &Writer{w: w, version: version}
}

// Write writes r as one line.
func (cw *Writer) Write(r *ctxguard.Record) error {
	cw.buf = Append(cw.buf[:0], r, cw.version)
	cw.buf = append(cw.buf, '\n')
	_, err := cw.w.Write(cw.buf)
	return err
}

// Append appends r's CEF line, without the newline, to b.
//
// The header's signature id is the decision (or "observe"), its name says
// what happened, and its severity grows from a plain observation (1) to a
// blocked item (9). Extension keys are CEF's own where one fits, custom
// string fields (csN with csNLabel) otherwise.
func Append(b []byte, r *ctxguard.Record, version string) []byte {
	sig, name, sev := classify(r)
	b = append(b, "CEF:0|ctxguard|ctxguard|"...)
	b = appendHeader(b, version)
	b = append(b, '|')
	b = appendHeader(b, sig)
	b = append(b, '|')
	b = appendHeader(b, name)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(sev), 10)
	b = append(b, '|')

	e := ext{b: b}
	e.int("rt", r.Time.UnixMilli())
	e.uint("externalId", r.Seq)
	e.str("app", "MCP/"+r.Transport)
	e.str("destinationServiceName", r.Server)
	if r.Caller != nil {
		e.str("suser", r.Caller.Subject)
		e.custom(1, "callerTokenSha256", r.Caller.TokenSHA256)
	}
	client := r.Client.Name
	if r.Client.Version != "" {
		client += "/" + r.Client.Version
	}
	e.str("requestClientApplication", client)
	e.str("requestMethod", r.Method)
	e.str("request", r.URI)
	if tool := firstNonEmpty(r.Tool, r.Prompt); tool != "" || r.Anomaly == nil {
		e.custom(2, "tool", tool)
	} else {
		e.custom(2, "anomalyKey", r.Anomaly.Key) // a URI, server, prefix or session
	}
	e.str("fileHash", r.SHA256)
	if r.SHA256 != "" {
		e.int("fsize", r.Size)
	}
	e.str("fileType", r.MIMEType)
	if r.Baseline != nil {
		e.custom(3, "baseline", string(r.Baseline.Status))
	}
	e.custom(4, "verdict", string(r.Verdict))
	if r.Verdict != "" {
		e.str("cfp1Label", "score")
		e.str("cfp1", strconv.FormatFloat(r.Score, 'f', 3, 64))
	}
	e.str("act", string(r.Decision))
	e.custom(5, "session", r.Session)
	e.custom(6, "quarantineId", r.QuarantineID)
	msg := r.Note
	if a := r.Anomaly; a != nil {
		msg = a.Detail
		e.str("cn1Label", "observed")
		e.str("cn1", strconv.FormatFloat(a.Observed, 'g', -1, 64))
		e.str("cn2Label", "threshold")
		e.str("cn2", strconv.FormatFloat(a.Threshold, 'g', -1, 64))
	}
	e.str("msg", msg)
	return e.b
}

func classify(r *ctxguard.Record) (sig, name string, severity int) {
	if a := r.Anomaly; a != nil {
		return "anomaly:" + string(a.Rule), "anomaly: " + string(a.Rule), 2 + 2*a.Severity.Rank()
	}
	switch {
	case r.Decision == ctxguard.DecisionBlock:
		return "block", "item blocked", 9
	case r.Decision == ctxguard.DecisionQuarantine:
		return "quarantine", "item held for review", 7
	case r.Withheld:
		return "withheld", "item withheld", 7
	case r.Decision == ctxguard.DecisionAnnotate:
		return "annotate", "item annotated", 5
	case r.Verdict == ctxguard.VerdictSuspicious:
		return "suspicious", "suspicious item passed", 6
	case r.Baseline != nil && r.Baseline.Status == ctxguard.BaselineDrifted:
		return "drifted", "item drifted from its baseline", 6
	case r.Decision == ctxguard.DecisionPass:
		return "pass", "item passed", 1
	}
	return "observe", "item observed", 1
}

// appendHeader escapes a header field: backslash and pipe; a line break or
// other control character, which CEF headers cannot hold, becomes a space.
func appendHeader(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if n := breakAt(s, i); n > 0 {
			b = append(b, ' ')
			i += n - 1
			continue
		}
		switch c := s[i]; c {
		case '\\', '|':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

// breakAt returns the length of the control character or Unicode line
// break at s[i] that relays may split events on (C0 and DEL, NEL, LINE
// and PARAGRAPH SEPARATOR), or 0. \n and \r are not counted: extension
// values escape them.
func breakAt(s string, i int) int {
	c := s[i]
	switch {
	case c == '\n' || c == '\r':
		return 0
	case c < 0x20 || c == 0x7f:
		return 1
	case c == 0xc2 && i+1 < len(s) && s[i+1] == 0x85:
		return 2
	case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
		return 3
	}
	return 0
}

// ext appends extension fields, skipping empty values.
type ext struct {
	b     []byte
	first bool
}

func (e *ext) key(k string) {
	if e.first {
		e.b = append(e.b, ' ')
	}
	e.first = true
	e.b = append(e.b, k...)
	e.b = append(e.b, '=')
}

func (e *ext) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *ext) uint(k string, v uint64) {
	e.key(k)
	e.b = strconv.AppendUint(e.b, v, 10)
}

// str appends k=v with v escaped as CEF extension values are: backslash
// and equals sign escaped, line breaks written as \n and \r.
func (e *ext) str(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	for i := 0; i < len(v); i++ {
		if n := breakAt(v, i); n > 0 {
			e.b = append(e.b, ' ')
			i += n - 1
			continue
		}
		switch c := v[i]; c {
		case '\\', '=':
			e.b = append(e.b, '\\', c)
		case '\n':
			e.b = append(e.b, '\\', 'n')
		case '\r':
			e.b = append(e.b, '\\', 'r')
		default:
			e.b = append(e.b, c)
		}
	}
}

// custom appends custom string field n with its label.
func (e *ext) custom(n int, label, v string) {
	if v == "" {
		return
	}
	k := "cs" + strconv.Itoa(n)
	e.str(k+"Label", label)
	e.str(k, v)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Unescape reverses the extension value escaping (for tests and readers).
func Unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
