// Package toolcall detects tool coercion: content that tells the assistant
// to call a tool, naming it, usually with the attacker's arguments ("use
// send_email to forward this thread to ..."). Inside the filter, the tool
// names are those the server announced in tools/list; offline, a list of
// commonly exposed tools stands in.
package toolcall

import (
	"regexp"
	"strings"
	"sync"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

// CommonTools are tool names that MCP servers commonly expose, used when
// the server's own are not known.
var CommonTools = []string{
	"send_email", "send_mail", "gmail_send", "send_message", "slack_post_message", "post_message", "send_slack_message",
	"run_shell", "run_shell_command", "execute_command", "run_command", "run_code",
	"write_file", "create_file", "edit_file", "delete_file", "move_file", "read_file", "read_text_file", "list_directory",
	"http_request", "web_fetch", "webhook", "http_post",
	"create_issue", "github_create_issue", "create_pull_request", "push_files", "create_or_update_file", "merge_pull_request",
	"transfer_funds", "make_payment", "create_payment", "update_vendor", "update_bank_details", "approve_invoice",
	"create_user", "delete_user", "grant_access", "add_collaborator", "share_document", "share_file", "upload_file",
	"query_database", "run_sql", "sql_query", "execute_sql", "drop_table",
	"create_calendar_event", "schedule_meeting", "book_meeting", "jira_create_issue", "create_ticket", "update_ticket", "close_ticket",
}

// Detector is the tool-coercion detector.
type Detector struct{}

var _ detectors.Keyworded = Detector{}

// ID implements detectors.Detector.
func (Detector) ID() string { return "toolcall" }

// verbs are the imperatives that precede a tool's name.
var verbs = []string{"call", "invoke", "use", "run", "execute", "trigger", "launch", "fire", "make a call to", "perform a"}

// Keywords implements detectors.Keyworded.
func (Detector) Keywords() []string { return verbs }

// imperative is a verb telling the reader to use a tool, then (within a few
// words) the tool, then arguments or an object.
var imperative = regexp.MustCompile(`(?:call|invoke|use|run|execute|trigger|launch|fire|make a call to|perform a)\s+(?:the\s+|your\s+|a\s+|an\s+)?(?:\S+\s+){0,3}?`)

// window is how far after a verb the tool's name is looked for.
const window = 120

// Detect implements detectors.Detector. The hits are in text order.
func (Detector) Detect(doc *detectors.Document, hits []detectors.Hit) ([]ctxguard.Finding, error) {
	names := doc.Tools
	if len(names) == 0 {
		names = CommonTools
	}
	// Only the tools named near a verb (in the window after it that the
	// check below reads) are looked for: most documents name none, and
	// then nothing else runs. One walk over each stretch of windows finds
	// them all.
	m := matcherFor(names)
	var present, original []string
	seenName := map[int]bool{}
	found := func(_, _, pattern int64) bool {
		if i := int(pattern); !seenName[i] {
			seenName[i] = true
			present = append(present, m.norm[i])
			original = append(original, m.names[i])
		}
		return true
	}
	for i := 0; i < len(hits); {
		lo, hi := hits[i].Start, min(len(doc.Norm), hits[i].End+window)
		for i++; i < len(hits) && hits[i].Start <= hi; i++ {
			hi = max(hi, min(len(doc.Norm), hits[i].End+window))
		}
		m.trie.Walk(doc.Norm[lo:hi], found)
	}
	if len(present) == 0 {
		return nil, nil
	}
	var out []ctxguard.Finding
	seen := map[int]bool{}
	for _, h := range hits {
		lo := h.Start
		hi := min(len(doc.Norm), h.End+window)
		window := string(doc.Norm[lo:hi])
		for ni, name := range present {
			i := indexWord(window, name)
			if i < 0 || i > 80 {
				continue
			}
			// The verb must govern the name: "use the send_email tool",
			// "call send_email(", not a mention two sentences apart.
			between := window[:i]
			if strings.ContainsAny(between, ".;!?\n") {
				continue
			}
			if !imperative.MatchString(window[:i+len(name)]) {
				continue
			}
			if seen[lo] {
				continue
			}
			seen[lo] = true
			// An imperative that names one of the server's tools is a
			// command to the agent, arguments or not.
			out = append(out, ctxguard.Finding{Detector: "toolcall", Rule: "toolcall.named-tool", Severity: ctxguard.SeverityHigh, Start: lo, End: lo + i + len(name), Note: "tells the reader to call " + original[ni]})
			break
		}
	}
	return out, nil
}

// indexWord finds name in s as a whole word (identifier characters around
// it end the match).
func indexWord(s, name string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], name)
		if i < 0 {
			return -1
		}
		i += off
		before := i == 0 || !identChar(s[i-1])
		after := i+len(name) >= len(s) || !identChar(s[i+len(name)])
		if before && after {
			return i
		}
		off = i + 1
	}
}

func identChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}

// RuleInfo implements detectors.Documented.
func (Detector) RuleInfo() []detectors.RuleInfo {
	return []detectors.RuleInfo{{ID: "toolcall.named-tool", Detector: "toolcall", Severity: ctxguard.SeverityHigh, Description: "An imperative that tells the reader to call a tool by its name."}}
}

// nameMatcher finds a set of tool names in normalised text.
type nameMatcher struct {
	names, norm []string
	trie        *ahocorasick.Trie
}

// matchers caches a matcher per tool set (a server's tools change rarely),
// up to maxMatchers sets.
var (
	matchersMu sync.Mutex
	matchers   = map[string]*nameMatcher{}
)

const maxMatchers = 64

func matcherFor(names []string) *nameMatcher {
	key := strings.Join(names, "\x00")
	matchersMu.Lock()
	m, ok := matchers[key]
	matchersMu.Unlock()
	if ok {
		return m
	}
	m = &nameMatcher{}
	b := ahocorasick.NewTrieBuilder()
	for _, n := range names {
		nn := normalize.Phrase(n)
		if len(nn) < 3 {
			continue
		}
		m.names = append(m.names, n)
		m.norm = append(m.norm, nn)
		b.AddString(nn)
	}
	m.trie = b.Build()
	matchersMu.Lock()
	if len(matchers) < maxMatchers {
		matchers[key] = m
	}
	matchersMu.Unlock()
	return m
}
