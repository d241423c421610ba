// Package exfil detects data exfiltration through links and images: a URL
// the reader is to fill with data (the conversation, the user's e-mail, a
// secret) or to fetch with it, outside the hosts the operator trusts.
// Rendering a Markdown image is enough to send its URL, so an image with a
// slot for data is as good as a sent message.
package exfil

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// Detector is the exfiltration detector.
type Detector struct {
	// Allow lists trusted hosts; a host matches itself and its subdomains.
	Allow []string
}

var _ detectors.Detector = (*Detector)(nil)

// ID implements detectors.Detector.
func (*Detector) ID() string { return "exfiltration" }

// placeholder matches a slot in a URL meant to be filled in: {x}, {{x}},
// <x>, $X, [X], INSERT_X, and words naming data.
var placeholder = detectors.MustMatcher(`(?:\{\{?[^}]{1,60}\}\}?|%7[Bb]%7[Bb]?[^%]{1,60}%7[Dd]|<[a-zA-Z_ ]{2,40}>|%3[Cc][a-zA-Z_]{2,40}%3[Ee]|\$\{?[A-Z_]{3,}\}?|\[[A-Z_ ]{3,40}\]|\b(?:INSERT|REPLACE|PUT|ADD|APPEND)_[A-Z_]+\b|\b[A-Z]+_(?:DATA|EMAIL|NAME|TOKEN|KEY|SECRET|PASSWORD|HISTORY|CHAT|CONVERSATION|SUMMARY|MESSAGE|CONTEXT|INFO)\b|\b(?:USER_?DATA|CHAT_?HISTORY|CONVERSATION|SECRETS?|PASSWORD|API_?KEY|TOKEN|EMAIL_?ADDRESS|SYSTEM_?PROMPT|SUMMARY_?HERE|DATA_?HERE)\b|=\.\.\.|=…)`)

// instruction is a verb that moves data and, within a few words, the data
// an exfiltrating instruction wants in the URL.
var instruction = detectors.MustMatcher(`(?:append|add|include|insert|put|encode|replace|fill|substitute|attach|concatenate|embed|pass|send|render|load|fetch|display|show|open)\s+(?:\S+\s+){0,8}?(?:conversation|chat|history|message|messages|e-?mail|password|token|secret|key|keys|credentials|summary|data|context|user'?s|name|address|phone|answer|response|query|question|prompt|session|cookie)s?\b`)

// followedBy is a URL to be completed with private data: "…?ctx=
// followed by the user's previous messages", "+ the last 10 direct
// messages". The data named are those of a conversation or of the user's
// accounts, not an ID or a name.
var followedBy = detectors.MustMatcher(`(?:followed by|suivie? de|suivis de|seguid[oa] de|gefolgt von|seguito da|gevolgd door|concatenated with|with (?:\S+\s+){0,3}?appended|\+)\s+(?:\S+\s+){0,10}?(?:conversation|chat|(?:chat |conversation )?history|previous|earlier|(?:direct |private )?messages|dms|meetings|calendar|e-?mails|inbox|contacts|passwords?|tokens?|secrets?|credentials|api keys?|hostnames?|ip addresses|memory|conversacion|historial|mensajes|messaggi|nachrichten|verlauf|gesprach)\b`)

// replaceVerb names a placeholder in the URL that the text tells the
// reader to replace: "replacing HOSTS with …", "en remplaçant DONNEES par …".
var replaceVerb = regexp.MustCompile(`(?:replac|substitut|swap|fill|remplac|ersetz|sustitu|reemplaz|sostitu|substitu|vervang)\S*\s+(?:\S+\s+){0,2}?$`)

// conversationData is what the placeholder is to be replaced with, in an
// exfiltration: the conversation or what it revealed, not the reader's own
// region code or account ID as in API documentation.
var conversationData = regexp.MustCompile(`(?:conversation|chat|history|messages|hostnames?|ip address|internal|memory|everything|contents?|summary|historique|donnees|conversacion|historial|mensajes|gesprach|verlauf|nachrichten|conversazione|cronologia|messaggi|conversa|mensagens)`)

var toURL = detectors.MustMatcher(`(?:url|link|image|query|parameter|param|endpoint|address|markdown|img|src|\?|=)`)

// Detect implements detectors.Detector.
func (d *Detector) Detect(doc *detectors.Document, _ []detectors.Hit) ([]ctxguard.Finding, error) {
	var out []ctxguard.Finding
	for _, l := range doc.Links {
		u, err := url.Parse(strings.TrimSpace(l.URL))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "") {
			continue
		}
		if d.allowed(u.Hostname()) {
			continue
		}
		slot := placeholder.Match([]byte(u.RawQuery + "#" + u.Path + "#" + u.Fragment))
		ns, ne := doc.NormSpan(l.Start, l.End)
		near := doc.Norm[max(0, ns-240):min(len(doc.Norm), ne+240)]
		if !slot && (namedPlaceholder(u.RawQuery, doc.Norm, ns, ne) ||
			strings.HasSuffix(u.RawQuery, "=") && followedBy.Match(doc.Norm[ne:min(len(doc.Norm), ne+200)])) {
			slot = true
		}
		// told is costly (the instruction expression); the slot cases
		// decide without it.
		told := func() bool { return mentionsData(near) && toURL.Match(near) && instruction.Match(near) }
		switch {
		case slot && l.Image:
			out = append(out, ctxguard.Finding{Detector: "exfiltration", Rule: "exfiltration.image-slot", Severity: ctxguard.SeverityCritical, Start: ns, End: ne, Note: "image URL with a slot for data: rendering it sends the data"})
		case slot:
			out = append(out, ctxguard.Finding{Detector: "exfiltration", Rule: "exfiltration.link-slot", Severity: ctxguard.SeverityHigh, Start: ns, End: ne, Note: "link URL with a slot for data"})
		case (u.RawQuery != "" || strings.HasSuffix(u.Path, "/") || bytes.IndexByte(near, '?') >= 0) && told():
			sev := ctxguard.SeverityHigh
			if l.Image {
				sev = ctxguard.SeverityCritical
			}
			out = append(out, ctxguard.Finding{Detector: "exfiltration", Rule: "exfiltration.instructed", Severity: sev, Start: ns, End: ne, Note: "the text tells the reader to put data into this URL"})
		}
	}
	return out, nil
}

func (d *Detector) allowed(host string) bool {
	host = strings.ToLower(host)
	for _, a := range d.Allow {
		a = strings.ToLower(strings.TrimPrefix(a, "*."))
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// RuleInfo implements detectors.Documented.
func (*Detector) RuleInfo() []detectors.RuleInfo {
	return []detectors.RuleInfo{
		{ID: "exfiltration.image-slot", Detector: "exfiltration", Severity: ctxguard.SeverityCritical, Description: "An image URL with a slot for data, outside the trusted hosts: rendering it sends the data."},
		{ID: "exfiltration.link-slot", Detector: "exfiltration", Severity: ctxguard.SeverityHigh, Description: "A link URL with a slot for data, outside the trusted hosts."},
		{ID: "exfiltration.instructed", Detector: "exfiltration", Severity: ctxguard.SeverityHigh, Description: "Text that tells the reader to put data into a URL."},
	}
}

// dataNouns is a cheap test before the instruction pattern: it needs one.
var dataNouns = [][]byte{[]byte("conversation"), []byte("chat"), []byte("history"), []byte("message"), []byte("mail"), []byte("password"),
	[]byte("token"), []byte("secret"), []byte("key"), []byte("credential"), []byte("summary"), []byte("data"), []byte("context"),
	[]byte("user"), []byte("name"), []byte("address"), []byte("phone"), []byte("answer"), []byte("response"), []byte("query"),
	[]byte("question"), []byte("prompt"), []byte("session"), []byte("cookie")}

func mentionsData(b []byte) bool {
	for _, n := range dataNouns {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

// namedPlaceholder reports whether a value of the query is a word in
// capitals (HOSTS, DONNEES) that the text around the link, outside it,
// tells the reader to replace with data of the conversation.
func namedPlaceholder(query string, norm []byte, ns, ne int) bool {
	for _, kv := range strings.Split(query, "&") {
		_, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 3 || len(v) > 40 || strings.ToUpper(v) != v || strings.ToLower(v) == v {
			continue
		}
		if strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
			continue
		}
		w := []byte(strings.ToLower(v))
		for _, text := range [][]byte{norm[max(0, ns-300):ns], norm[ne:min(len(norm), ne+300)]} {
			for i := 0; ; {
				j := bytes.Index(text[i:], w)
				if j < 0 {
					break
				}
				p := i + j
				i = p + len(w)
				if p+len(w) < len(text) && isWordByte(text[p+len(w)]) || p > 0 && isWordByte(text[p-1]) {
					continue
				}
				if replaceVerb.Match(text[max(0, p-60):p]) && conversationData.Match(text[p:min(len(text), p+len(w)+120)]) {
					return true
				}
			}
		}
	}
	return false
}

func isWordByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }
