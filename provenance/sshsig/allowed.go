package sshsig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an OpenSSH allowed_signers file (see ssh-keygen(1) "ALLOWED SIGNERS").
type AllowedSigner struct {
	Principals              string    // the comma-separated principal patterns as written
	CertAuthority           bool      // the key is a CA: it vouches for user certificates instead of signing itself
	Namespaces              string    // the namespaces= option's pattern list, "" when absent (= any namespace)
	ValidAfter, ValidBefore time.Time // zero when absent; inclusive, at one-second granularity as in ssh-keygen
	Key                     ssh.PublicKey
	Comment                 string
	Line                    int // 1-based line number in the file it was read from
}

const (
	// The limits keep a hostile or corrupt file from exhausting memory; real
	// files are a few lines of a few hundred bytes.
	maxAllowedSignersSize = 16 << 20
	maxAllowedSignersLine = 64 << 10

	// maxPatternLength is the longest sub-pattern OpenSSH's
	// match_pattern_list considers; a longer one makes the whole list fail
	// to match there. Refusing it keeps us from silently disagreeing with
	// ssh-keygen about a line.
	maxPatternLength = 1022
)

// ParseAllowedSigners reads a file: blank lines and # comments skipped; quoted option values (namespaces="a,b"); errors name the line number; unknown options are an error. Bounded: refuse a file over 16 MiB and lines over 64 KiB.
//
// The grammar is ssh-keygen's, including its requirement that option values
// be double-quoted, so a file this accepts means the same to ssh-keygen. Where
// ssh-keygen is lax (empty options, quotes in the middle of the principals,
// a date that mktime would roll over, such as February 30) this refuses the
// line, since a trust file that two readers could read differently is a
// liability.
func ParseAllowedSigners(r io.Reader) ([]AllowedSigner, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAllowedSignersSize+1))
	if err != nil {
		return nil, fmt.Errorf("sshsig: read allowed signers: %w", err)
	}
	if len(data) > maxAllowedSignersSize {
		return nil, fmt.Errorf("sshsig: allowed signers file is larger than %d bytes", maxAllowedSignersSize)
	}
	var signers []AllowedSigner
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > maxAllowedSignersLine {
			return nil, fmt.Errorf("sshsig: allowed signers line %d: longer than %d bytes", n, maxAllowedSignersLine)
		}
		s, err := parseAllowedSigner(string(line))
		if err != nil {
			return nil, fmt.Errorf("sshsig: allowed signers line %d: %w", n, err)
		}
		if s != nil {
			s.Line = n
			signers = append(signers, *s)
		}
	}
	return signers, nil
}

// parseAllowedSigner parses one line; nil without error for a blank or
// comment line.
func parseAllowedSigner(line string) (*AllowedSigner, error) {
	line = strings.TrimSuffix(line, "\r")
	if strings.IndexByte(line, 0) >= 0 {
		// ssh-keygen reads lines as C strings and would ignore everything
		// after the NUL.
		return nil, errors.New("NUL byte in line")
	}
	p := skipBlanks(line)
	if p == "" || p[0] == '#' {
		return nil, nil
	}
	principals, rest, err := cutPrincipals(p)
	if err != nil {
		return nil, err
	}
	if err := checkPatternList("principals", principals); err != nil {
		return nil, err
	}
	rest = skipBlanks(rest)
	if rest == "" {
		return nil, errors.New("missing key")
	}
	s := &AllowedSigner{Principals: principals}

	// As in ssh-keygen, the field after the principals is the key if it
	// reads as one, and options otherwise.
	key, comment, keyErr := parseKey(rest)
	if keyErr == nil {
		s.Key, s.Comment = key, comment
		return s, nil
	}
	opts, after, err := cutOptions(rest)
	if err != nil {
		return nil, err
	}
	optErr := parseOptions(opts, s)
	after = skipBlanks(after)
	// When neither reading works, report the one the line was more likely
	// meant as.
	if after == "" {
		switch {
		case optErr != nil && looksLikeOptions(opts):
			return nil, optErr
		case looksLikeOptions(opts):
			return nil, errors.New("missing key after the options")
		case startsWithKey(p):
			return nil, errors.New("missing principals: the line starts with the key")
		}
		return nil, keyErr
	}
	key, comment, keyErr2 := parseKey(after)
	if optErr != nil {
		if keyErr2 == nil || looksLikeOptions(opts) {
			return nil, optErr
		}
		if startsWithKey(p) {
			return nil, errors.New("missing principals: the line starts with the key")
		}
		return nil, keyErr
	}
	if keyErr2 != nil {
		return nil, keyErr2
	}
	s.Key, s.Comment = key, comment
	return s, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlanks(s string) string {
	for len(s) > 0 && isBlank(s[0]) {
		s = s[1:]
	}
	return s
}

// cutField splits s at the first space or tab.
func cutField(s string) (field, rest string) {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// cutPrincipals takes the principals field, whole-field quoted (as ssh-keygen
// allows, for principals with spaces or a leading '#') or not.
func cutPrincipals(p string) (principals, rest string, err error) {
	if p[0] == '"' {
		end := strings.IndexByte(p[1:], '"')
		if end < 0 {
			return "", "", errors.New("unterminated quote in principals")
		}
		principals, rest = p[1:1+end], p[2+end:]
		if rest != "" && !isBlank(rest[0]) {
			return "", "", errors.New("text right after the quoted principals")
		}
	} else {
		principals, rest = cutField(p)
		if strings.IndexByte(principals, '"') >= 0 {
			return "", "", errors.New("quote inside the principals; quote the whole field instead")
		}
	}
	if principals == "" {
		return "", "", errors.New("empty principals")
	}
	return principals, rest, nil
}

// cutOptions finds the end of the options field as ssh-keygen's
// sshkey_advance_past_options does: at a space or tab outside double quotes,
// with \" not ending a quote.
func cutOptions(s string) (opts, rest string, err error) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case !quoted && isBlank(c):
			return s[:i], s[i:], nil
		case c == '\\' && i+1 < len(s) && s[i+1] == '"':
			i++
		case c == '"':
			quoted = !quoted
		}
	}
	if quoted {
		return "", "", errors.New("unterminated quote in options")
	}
	return s, "", nil
}

var optionNames = []string{"cert-authority", "namespaces=", "valid-after=", "valid-before="}

func looksLikeOptions(opts string) bool {
	for _, name := range optionNames {
		if hasPrefixFold(opts, name) {
			return true
		}
	}
	return false
}

// hasPrefixFold is an ASCII case-insensitive prefix test: option names are
// case-insensitive in ssh-keygen, and comparing bytes keeps the offsets into
// s valid (strings.ToLower can change the length of non-ASCII text).
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func parseOptions(opts string, s *AllowedSigner) error {
	var seenNS, seenAfter, seenBefore bool
	for {
		var err error
		switch {
		case opts == "" || opts[0] == ',':
			return errors.New("empty option")
		case hasPrefixFold(opts, "cert-authority"):
			opts = opts[len("cert-authority"):]
			if opts != "" && opts[0] != ',' {
				return errors.New("cert-authority takes no value")
			}
			s.CertAuthority = true
		case hasPrefixFold(opts, "namespaces="):
			if seenNS {
				return errors.New(`more than one "namespaces" option`)
			}
			seenNS = true
			var v string
			if v, opts, err = dequote("namespaces", opts[len("namespaces="):]); err != nil {
				return err
			}
			if v == "" {
				// The struct's "" means "no namespaces option"; an empty list
				// (which matches no namespace) would turn into "any".
				return errors.New(`namespaces="" matches no namespace`)
			}
			if err := checkPatternList("namespaces", v); err != nil {
				return err
			}
			s.Namespaces = v
		case hasPrefixFold(opts, "valid-after="):
			if seenAfter {
				return errors.New(`more than one "valid-after" option`)
			}
			seenAfter = true
			if s.ValidAfter, opts, err = timeOption("valid-after", opts[len("valid-after="):]); err != nil {
				return err
			}
		case hasPrefixFold(opts, "valid-before="):
			if seenBefore {
				return errors.New(`more than one "valid-before" option`)
			}
			seenBefore = true
			if s.ValidBefore, opts, err = timeOption("valid-before", opts[len("valid-before="):]); err != nil {
				return err
			}
		default:
			name := opts
			if i := strings.IndexAny(name, ",="); i >= 0 {
				name = name[:i]
			}
			return fmt.Errorf("unknown option %q", name)
		}
		if opts == "" {
			return nil
		}
		if opts[0] != ',' {
			return fmt.Errorf("unexpected %q after an option value", opts)
		}
		opts = opts[1:]
		if opts == "" {
			return errors.New("options end with a comma")
		}
	}
}

// dequote reads a double-quoted option value as ssh-keygen's opt_dequote
// does: \" stands for a quote, any other backslash is literal.
func dequote(name, s string) (value, rest string, err error) {
	if s == "" || s[0] != '"' {
		return "", "", fmt.Errorf(`%s value must be in double quotes, e.g. %s="..."`, name, name)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case s[i] == '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", fmt.Errorf("%s value has no closing quote", name)
}

func timeOption(name, s string) (time.Time, string, error) {
	v, rest, err := dequote(name, s)
	if err != nil {
		return time.Time{}, "", err
	}
	t, err := parseTimestamp(v)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%s: %w", name, err)
	}
	return t, rest, nil
}

// parseTimestamp reads the forms ssh-keygen's parse_absolute_time accepts:
// YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, in local time unless suffixed
// with Z (or UTC).
func parseTimestamp(v string) (time.Time, error) {
	loc := time.Local
	digits := v
	switch {
	case len(digits) > 1 && (digits[len(digits)-1] == 'Z' || digits[len(digits)-1] == 'z'):
		digits, loc = digits[:len(digits)-1], time.UTC
	case len(digits) > 3 && strings.EqualFold(digits[len(digits)-3:], "UTC"):
		digits, loc = digits[:len(digits)-3], time.UTC
	}
	var layout string
	switch len(digits) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("timestamp %q is not YYYYMMDD[HHMM[SS]][Z]", v)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return time.Time{}, fmt.Errorf("timestamp %q is not YYYYMMDD[HHMM[SS]][Z]", v)
		}
	}
	t, err := time.ParseInLocation(layout, digits, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %v", v, err)
	}
	// ssh-keygen refuses times at or before the epoch (0 means "absent" to it).
	if t.Unix() <= 0 {
		return time.Time{}, fmt.Errorf("timestamp %q is not after 1970-01-01T00:00:00Z", v)
	}
	return t, nil
}

// parseKey reads "keytype base64 [comment]".
func parseKey(s string) (ssh.PublicKey, string, error) {
	typ, rest := cutField(s)
	if typ == "" {
		return nil, "", errors.New("missing key")
	}
	b64, rest := cutField(skipBlanks(rest))
	if b64 == "" {
		return nil, "", fmt.Errorf("bad key: %q without key data", typ)
	}
	blob, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, "", fmt.Errorf("bad key: %q: %v", typ, err)
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, "", fmt.Errorf("bad key: %q: %v", typ, err)
	}
	if key.Type() != typ {
		return nil, "", fmt.Errorf("bad key: written as %q but is %q", typ, key.Type())
	}
	return key, strings.Trim(rest, " \t\r"), nil
}

func startsWithKey(s string) bool {
	_, _, err := parseKey(s)
	return err == nil
}

func checkPatternList(what, list string) error {
	if _, ok := splitPatternList(list); !ok {
		return fmt.Errorf("%s: a pattern longer than %d bytes, which OpenSSH never matches", what, maxPatternLength)
	}
	return nil
}

// String formats the line so that ParseAllowedSigners (and ssh-keygen) read it back identically.
//
// Times in UTC are written with a Z suffix and times in time.Local without,
// so a hand-written file keeps its meaning and look; times in other zones are
// converted to UTC. Sub-second parts are rounded so that the window only
// narrows.
//
// A signer that no line can express (no key, principals containing a quote
// or a line break, a time outside 1970..9999, ...) is written as a comment
// line, which ParseAllowedSigners and ssh-keygen skip: a principal or
// namespace taken from untrusted input must never smuggle a second key, or
// another line, into a trust file.
func (a AllowedSigner) String() string {
	if !a.representable() {
		return "# sshsig: this allowed signer cannot be written as an allowed_signers line"
	}
	var b strings.Builder
	if needsQuotes(a.Principals) {
		b.WriteString(`"` + a.Principals + `"`)
	} else {
		b.WriteString(a.Principals)
	}
	var opts []string
	if a.CertAuthority {
		opts = append(opts, "cert-authority")
	}
	if a.Namespaces != "" {
		opts = append(opts, "namespaces="+quoteValue(a.Namespaces))
	}
	if !a.ValidAfter.IsZero() {
		opts = append(opts, "valid-after="+quoteValue(formatTimestamp(a.ValidAfter, true)))
	}
	if !a.ValidBefore.IsZero() {
		opts = append(opts, "valid-before="+quoteValue(formatTimestamp(a.ValidBefore, false)))
	}
	if len(opts) > 0 {
		b.WriteString(" " + strings.Join(opts, ","))
	}
	b.WriteString(" " + a.Key.Type() + " " + base64.StdEncoding.EncodeToString(a.Key.Marshal()))
	if c := singleLine(a.Comment); c != "" {
		b.WriteString(" " + c)
	}
	return b.String()
}

func (a AllowedSigner) representable() bool {
	if marshalKey(a.Key) == nil || a.Principals == "" || strings.ContainsAny(a.Principals, "\"\n\x00") {
		return false
	}
	if _, ok := splitPatternList(a.Principals); !ok {
		return false
	}
	if a.Namespaces != "" {
		if strings.ContainsAny(a.Namespaces, "\n\x00") || strings.HasSuffix(a.Namespaces, `\`) {
			return false
		}
		if _, ok := splitPatternList(a.Namespaces); !ok {
			return false
		}
	}
	for _, t := range []time.Time{a.ValidAfter, a.ValidBefore} {
		if !t.IsZero() && (t.Unix() <= 0 || t.UTC().Year() > 9999 || t.Year() > 9999) {
			return false
		}
	}
	typ := a.Key.Type()
	return typ != "" && !strings.ContainsAny(typ, " \t\r\n\x00\"")
}

// needsQuotes: a principals field with blanks would split, and one starting
// with '#' would make the line a comment.
func needsQuotes(p string) bool {
	return strings.ContainsAny(p, " \t") || p[0] == '#'
}

func quoteValue(v string) string {
	return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
}

// singleLine keeps a comment from ending the line early; a comment carries no
// meaning, so changing it is harmless.
func singleLine(c string) string {
	// Bytewise, not strings.Map, which would also rewrite invalid UTF-8.
	b := []byte(c)
	for i, ch := range b {
		if ch == '\n' || ch == '\r' || ch == 0 {
			b[i] = ' '
		}
	}
	return strings.Trim(string(b), " \t")
}

func formatTimestamp(t time.Time, roundUp bool) string {
	suffix := "Z"
	if t.Location() == time.Local {
		suffix = ""
	} else {
		t = t.UTC()
	}
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second)
		if roundUp {
			t = t.Add(time.Second)
		}
	}
	switch {
	case t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0:
		return t.Format("20060102") + suffix
	case t.Second() == 0:
		return t.Format("200601021504") + suffix
	}
	return t.Format("20060102150405") + suffix
}
