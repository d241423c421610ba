package detectors

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors/encoded"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

// Config tunes an Engine.
type Config struct {
	// Threshold is the score at which content is suspicious (default 0.5).
	Threshold float64
	// MaxDepth bounds how many times an encoded payload is decoded and
	// scanned again (default 2).
	MaxDepth int
	// MaxDecoded bounds the bytes decoded from one document (default 1 MiB).
	MaxDecoded int
}

// Result is the engine's judgement of one piece of content.
type Result struct {
	Score    float64
	Verdict  ctxguard.Verdict
	Findings []ctxguard.Finding
}

// Engine runs detectors over content. It is safe for concurrent use.
type Engine struct {
	cfg       Config
	detectors []Detector
	keyworded []bool
	trie      *ahocorasick.Trie
	starts    *starts
	patterns  []pattern
	// owners maps a matcher pattern (a distinct keyword text) to every
	// pattern that has that text: several rules may share a keyword.
	owners [][]int
}

// pattern is one keyword in the engine's matcher: a detector's, or the
// engine's own context words (det < 0).
type pattern struct {
	det, kw int
	text    string
	stem    bool
}

// Context words the engine itself looks for.
const (
	ctxMeta  = -1 // the document discusses attacks (security training, reports)
	ctxRot13 = -2 // the document mentions rot13
)

// metaWords mark a document that talks about attacks rather than making
// one: security training, incident reports, detection rules. An attack
// phrase quoted in such a document is weighed less; in a document that
// uses several of these words, every phrase is taken as discussed rather
// than meant (two distinct words).
var metaWords = []string{
	"prompt injection", "prompt-injection", "jailbreak*", "attacker*", "malicious", "adversar*", "red team*", "red-team*",
	"phishing", "social engineering", "security awareness", "threat model*", "payload*", "exploit*", "vulnerab*",
	"owasp", "cve-", "injection attack*", "mitigat*", "scammer*", "fraudster*", "pentest*", "penetration test*", "indicator of compromise",
	"attack", "attacks", "planted", "indirect injection", "scam", "scams", "fraud", "red flag*", "impersonat*", "pretext*", "tabletop",
	"security training", "awareness training", "threat actor*", "blocked attempt*", "detection rule*", "guardrail*",
	"injection", "injections", "injected", "postmortem", "post-mortem", "root cause", "trick", "sneaky", "security team", "security bits",
	"prompt-injektion", "angriff*", "angreifer*", "injection de prompt", "attaque*", "attaquant*", "inyeccion de prompt", "ataque*", "atacante*",
	"iniezione di prompt", "attacco", "attacchi", "injecao de prompt", "prompt-injectie", "aanval*", "промпт-инъекц*", "атак*", "злоумышленник*",
	"プロンプトインジェクション", "攻撃", "提示注入", "提示词注入", "攻击", "프롬프트 인젝션", "공격",
}

var rot13Words = []string{"rot13", "rot-13", "rot 13", "caesar cipher", "ebg13"}

// NewEngine builds an engine over detectors, compiling every keyword into
// one matcher.
func NewEngine(cfg Config, dets ...Detector) (*Engine, error) {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.5
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 2
	}
	if cfg.MaxDecoded <= 0 {
		cfg.MaxDecoded = 1 << 20
	}
	e := &Engine{cfg: cfg, detectors: dets, keyworded: make([]bool, len(dets))}
	ids := map[string]bool{}
	for i, d := range dets {
		if ids[d.ID()] {
			return nil, fmt.Errorf("detectors: two detectors named %s", d.ID())
		}
		ids[d.ID()] = true
		k, ok := d.(Keyworded)
		if !ok {
			continue
		}
		e.keyworded[i] = true
		for j, w := range k.Keywords() {
			e.patterns = append(e.patterns, newPattern(i, j, w))
		}
	}
	for j, w := range metaWords {
		e.patterns = append(e.patterns, newPattern(ctxMeta, j, w))
	}
	for j, w := range rot13Words {
		e.patterns = append(e.patterns, newPattern(ctxRot13, j, w))
	}
	b := ahocorasick.NewTrieBuilder()
	index := map[string]int{}
	var texts []string
	for i, p := range e.patterns {
		if p.text == "" {
			return nil, errors.New("detectors: empty keyword")
		}
		j, ok := index[p.text]
		if !ok {
			j = len(e.owners)
			index[p.text] = j
			e.owners = append(e.owners, nil)
			b.AddString(p.text)
			texts = append(texts, p.text)
		}
		e.owners[j] = append(e.owners[j], i)
	}
	e.trie = b.Build()
	e.starts = newStarts(texts)
	return e, nil
}

// Rules describes every rule of the engine's detectors, and the encoded
// payload rules the engine reports itself.
func (e *Engine) Rules() []RuleInfo {
	var out []RuleInfo
	for _, d := range e.detectors {
		if doc, ok := d.(Documented); ok {
			out = append(out, doc.RuleInfo()...)
		}
	}
	for _, k := range []string{"base64", "hex", "url", "rot13", "base32", "unicode-escapes", "quoted-printable"} {
		out = append(out, RuleInfo{ID: "encoded." + k, Detector: "encoded", Severity: ctxguard.SeverityHigh,
			Description: "A " + k + "-encoded payload that decodes to text another rule fires on."})
	}
	return out
}

func newPattern(det, kw int, w string) pattern {
	stem := strings.HasSuffix(w, "*")
	return pattern{det: det, kw: kw, text: normalize.Phrase(strings.TrimSuffix(w, "*")), stem: stem}
}

// Scan scores content. tools are the names of the server's tools, if known.
func (e *Engine) Scan(content []byte, tools []string) (Result, error) {
	budget := e.cfg.MaxDecoded
	findings, err := e.scan(content, tools, 0, &budget)
	if err != nil {
		return Result{}, err
	}
	// In text order; findings on the same bytes in a fixed order too, so
	// that the same content always reports the same list.
	slices.SortStableFunc(findings, func(a, b ctxguard.Finding) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End), strings.Compare(a.Detector, b.Detector),
			strings.Compare(a.Rule, b.Rule), strings.Compare(a.Note, b.Note))
	})
	score := Score(findings)
	v := ctxguard.VerdictClean
	if score >= e.cfg.Threshold {
		v = ctxguard.VerdictSuspicious
	}
	return Result{Score: score, Verdict: v, Findings: findings}, nil
}

func (e *Engine) scan(content []byte, tools []string, depth int, budget *int) ([]ctxguard.Finding, error) {
	doc := &Document{Text: normalize.New(content), Tools: tools, Depth: depth}
	hits := make([][]Hit, len(e.detectors))
	var rot13 bool
	// The first meta word seen, and whether a second, different one was.
	metaFirst, metaTwo := -1, false
	norm := doc.Norm
	e.starts.walk(e.trie, norm, func(start, stop int, pi int64) {
		for _, oi := range e.owners[pi] {
			p := e.patterns[oi]
			if !wordBoundary(norm, start, stop, p.text, p.stem) {
				continue
			}
			switch p.det {
			case ctxMeta:
				if metaFirst < 0 {
					metaFirst = p.kw
				} else if p.kw != metaFirst {
					metaTwo = true
				}
			case ctxRot13:
				rot13 = true
			default:
				hits[p.det] = append(hits[p.det], Hit{Keyword: p.kw, Start: start, End: stop})
			}
		}
	})

	ctx := context{meta: metaFirst >= 0, discussion: metaTwo, resources: &stringTable{src: content}}
	var out []ctxguard.Finding
	var errs []error
	for i, d := range e.detectors {
		if e.keyworded[i] && len(hits[i]) == 0 {
			continue
		}
		fs, err := d.Detect(doc, hits[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("detectors: %s: %w", d.ID(), err))
			continue
		}
		for _, f := range fs {
			if pf, ok := e.place(doc, f, ctx); ok {
				out = append(out, pf)
			}
		}
	}

	// Nothing holds the normalised view past the detectors (findings are
	// offsets into Src by now): its buffers serve the next document, or
	// the payloads decoded below.
	doc.Text.Release()

	if depth < e.cfg.MaxDepth {
		cands := encoded.Find(content, encoded.Limits{MaxDecoded: *budget})
		if rot13 {
			cands = append(cands, encoded.Candidate{Kind: "rot13", Start: 0, End: len(content), Decoded: encoded.Rot13(content)})
		}
		for _, c := range cands {
			if *budget <= 0 {
				break
			}
			*budget -= len(c.Decoded)
			inner, err := e.scan(c.Decoded, tools, depth+1, budget)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, wrapDecoded(c, inner)...)
			if len(inner) == 0 && imperativeProse(c.Decoded) {
				// Prose that gives orders, hidden in an encoding: no
				// reason to encode it but to get it past a reader.
				out = append(out, ctxguard.Finding{Detector: "encoded", Rule: "encoded.instruction", Severity: ctxguard.SeverityMedium,
					Start: c.Start, End: c.End, Note: "decoded " + c.Kind + " is an instruction"})
			}
		}
	}
	return out, errors.Join(errs...)
}

// context is what the engine knows of a document as a whole.
type context struct {
	meta       bool // it talks about attacks
	discussion bool // it is mostly about attacks
	// resources is whether it is a string table (translations,
	// resources), worked out only when a finding asks: most documents
	// have none.
	resources *stringTable
}

// stringTable memoizes resourceFile for one document.
type stringTable struct {
	src        []byte
	known, yes bool
}

func (t *stringTable) is() bool {
	if !t.known {
		t.known, t.yes = true, resourceFile(t.src)
	}
	return t.yes
}

// place maps a finding from the normalised view to the original bytes and
// notes its context: quoted as an example in a document about attacks (or
// anywhere in a discussion of attacks), or inside a hidden region
// (severity raised one step).
//
// A phrase match that runs across the markup of a structured file (from
// one XML element or string entry into the next) joins words no reader
// reads together, and is dropped (ok false).
func (e *Engine) place(doc *Document, f ctxguard.Finding, c context) (ctxguard.Finding, bool) {
	ns, ne := f.Start, f.End
	f.Start, f.End = doc.SrcSpan(ns, ne)
	span := doc.Src[f.Start:f.End]
	if f.Detector != "markers" && f.Detector != "hidden" && crossesElements(span) {
		return f, false
	}
	// A quotation comes first: markup shown as an example in a code block
	// is displayed, not hidden. Chat-template tokens in code are
	// documentation of a format wherever they appear.
	if c.discussion || (c.meta && quoted(doc.Src, f.Start, f.End)) || (f.Detector == "markers" && inCode(doc.Src, f.Start)) {
		f.Note = joinNote(f.Note, NoteQuoted)
	} else if label(doc.Src, f.Start, f.End, 60, 7) || (c.resources.is() && label(doc.Src, f.Start, f.End, 80, 14)) {
		f.Note = joinNote(f.Note, NoteLabel)
	} else if r, ok := doc.InHidden(ns); ok && f.Detector != "hidden" {
		f.Severity = raise(f.Severity)
		f.Note = joinNote(f.Note, "in hidden text ("+r.Reason+")")
	}
	return f, true
}

// inCode reports whether offset p of src is inside a Markdown code fence
// or an inline code span on its line.
func inCode(src []byte, p int) bool {
	if bytes.Count(src[:p], []byte("```"))%2 == 1 || bytes.Count(src[:p], []byte("~~~"))%2 == 1 {
		return true
	}
	ls := bytes.LastIndexByte(src[:p], '\n') + 1
	return bytes.Count(src[ls:p], []byte("`"))%2 == 1
}

// inlineTags may split a word or phrase without separating it: an attacker
// writes "ig<b>nore</b>". Any other element boundary separates.
var inlineTags = map[string]bool{"b": true, "i": true, "em": true, "strong": true, "span": true, "a": true, "u": true, "s": true,
	"mark": true, "small": true, "sub": true, "sup": true, "font": true, "code": true, "q": true, "abbr": true}

// crossesElements reports whether a span runs from one element of a markup
// file into another (it contains the end of an element that is not inline
// formatting).
func crossesElements(span []byte) bool {
	for i := 0; ; {
		j := bytes.Index(span[i:], []byte("</"))
		if j < 0 {
			break
		}
		k := i + j + 2
		e := k
		for e < len(span) && (span[e] >= 'a' && span[e] <= 'z' || span[e] >= 'A' && span[e] <= 'Z' || span[e] >= '0' && span[e] <= '9' || span[e] == '-' || span[e] == ':') {
			e++
		}
		if e == k || !inlineTags[strings.ToLower(string(span[k:e]))] {
			return true
		}
		i = e
	}
	return bytes.Contains(span, []byte("/>"))
}

// resourceFile reports whether src is mostly a table of strings: gettext
// (msgid/msgstr), properties (key=value), JSON or YAML maps of short
// strings, Android or XLIFF entries. Its strings are labels for a user
// interface, not prose addressed to a reader.
func resourceFile(src []byte) bool {
	lines, entries := 0, 0
	for rest := src; len(rest) > 0; {
		l := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' || bytes.HasPrefix(l, []byte("//")) {
			continue
		}
		lines++
		switch {
		case bytes.HasPrefix(l, []byte("msgid ")), bytes.HasPrefix(l, []byte("msgstr")), bytes.HasPrefix(l, []byte("msgctxt")),
			bytes.HasPrefix(l, []byte("<string ")), bytes.HasPrefix(l, []byte("<source>")), bytes.HasPrefix(l, []byte("<target>")),
			bytes.HasPrefix(l, []byte("<trans-unit")), bytes.HasPrefix(l, []byte("</trans-unit")), bytes.HasPrefix(l, []byte("<item>")):
			entries++
		case keyedLine(l) && resourceEntry.Match(l):
			entries++
		}
	}
	return lines >= 10 && entries*10 >= lines*7
}

// keyedLine reports whether l starts as resourceEntry requires, a key of
// word characters and then ':' or '=', so that prose lines skip the
// expression.
func keyedLine(l []byte) bool {
	i := 0
	if i < len(l) && l[i] == '"' {
		i++
	}
	k := i
	for i < len(l) && i-k <= 80 && (l[i] == '.' || l[i] == '-' || l[i] == '/' || l[i] == '_' || 'a' <= l[i] && l[i] <= 'z' || 'A' <= l[i] && l[i] <= 'Z' || '0' <= l[i] && l[i] <= '9') {
		i++
	}
	if i == k || i-k > 80 {
		return false
	}
	if i < len(l) && l[i] == '"' {
		i++
	}
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '\f' || l[i] == '\r' || l[i] == '\v') {
		i++
	}
	return i < len(l) && (l[i] == ':' || l[i] == '=')
}

// resourceEntry is a key and a short quoted or bare value on one line.
var resourceEntry = MustMatcher(`^"?[\w.\-/]{1,80}"?\s*[:=]\s*("[^"]{0,80}"|'[^']{0,80}'|[^"'{\[]{0,80}),?$`)

// NoteQuoted marks a finding quoted as an example in a document that
// discusses attacks, or found in a discussion of attacks; Score weighs it
// less.
const NoteQuoted = "discussed in a document about attacks"

// NoteLabel marks a finding that is a short string value on its own, such
// as a user-interface label in a translation file ("Ignore previous
// instructions" as a button's text); Score weighs it as a quotation.
const NoteLabel = "a short label string"

// label reports whether src[start:end] is most of a short string value
// (at most maxLen bytes and maxWords words): between quotes, or between '>'
// and '<' of an element, on one line.
func label(src []byte, start, end, maxLen, maxWords int) bool {
	ls := bytes.LastIndexByte(src[:start], '\n') + 1
	le := bytes.IndexByte(src[end:], '\n')
	if le < 0 {
		le = len(src)
	} else {
		le += end
	}
	for _, d := range [][2]byte{{'"', '"'}, {'\'', '\''}, {'>', '<'}, {'=', '\n'}} {
		o := bytes.LastIndexByte(src[ls:start], d[0])
		if o < 0 {
			continue
		}
		o += ls + 1
		var c int
		if d[1] == '\n' {
			c = le
		} else {
			c = bytes.IndexByte(src[end:le], d[1])
			if c < 0 {
				continue
			}
			c += end
		}
		value := bytes.TrimSpace(src[o:c])
		if len(value) > 0 && len(value) <= maxLen && len(bytes.Fields(value)) <= maxWords && (end-start)*5 >= len(value)*2 {
			return true
		}
	}
	return false
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func raise(s ctxguard.Severity) ctxguard.Severity {
	switch s {
	case ctxguard.SeverityLow:
		return ctxguard.SeverityMedium
	case ctxguard.SeverityMedium:
		return ctxguard.SeverityHigh
	}
	return ctxguard.SeverityCritical
}

// wrapDecoded turns the findings in a decoded payload into findings on the
// encoded run: one per inner finding, severity raised a step (hiding an
// instruction in an encoding is itself a sign), naming what was inside.
func wrapDecoded(c encoded.Candidate, inner []ctxguard.Finding) []ctxguard.Finding {
	out := make([]ctxguard.Finding, 0, len(inner))
	for _, f := range inner {
		if strings.Contains(f.Note, NoteQuoted) {
			continue
		}
		out = append(out, ctxguard.Finding{
			Detector: "encoded",
			Rule:     "encoded." + c.Kind,
			Severity: raise(f.Severity),
			Start:    c.Start,
			End:      c.End,
			Note:     joinNote("decoded "+c.Kind+" carries "+f.Detector+"/"+f.Rule, f.Note),
		})
	}
	return out
}

// quoted reports whether src[start:end] is presented as a quotation: in a
// fenced or inline code span, in a block quote, or between quotation marks
// within its paragraph.
func quoted(src []byte, start, end int) bool {
	if bytes.Count(src[:start], []byte("```"))%2 == 1 || bytes.Count(src[:start], []byte("~~~"))%2 == 1 {
		return true
	}
	ls := bytes.LastIndexByte(src[:start], '\n') + 1
	if t := bytes.TrimLeft(src[ls:start], " \t"); bytes.HasPrefix(t, []byte(">")) {
		return true
	}
	// The paragraph around the span, at most 400 bytes either way.
	ps := max(0, start-400)
	if i := bytes.LastIndex(src[ps:start], []byte("\n\n")); i >= 0 {
		ps += i + 2
	}
	pe := min(len(src), end+400)
	if i := bytes.Index(src[end:pe], []byte("\n\n")); i >= 0 {
		pe = end + i
	}
	before, after := src[ps:start], src[end:pe]
	for _, q := range [][2]string{{"`", "`"}, {`"`, `"`}, {"“", "”"}, {"„", "“"}, {"«", "»"}, {"‘", "’"}, {"「", "」"}, {"『", "』"}, {"<code>", "</code>"}, {"<pre", "</pre>"}, {"<q>", "</q>"}, {"<blockquote", "</blockquote>"}} {
		open := bytes.LastIndex(before, []byte(q[0]))
		if open < 0 {
			continue
		}
		if q[0] == q[1] {
			// Same mark both sides: the nearest one before must open (at a
			// word's start) and one after must close (at a word's end).
			opens := open == 0 || isSpaceOrOpen(before[open-1])
			opens = opens && open+len(q[0]) < len(before) && before[open+len(q[0])] != ' '
			if opens || open+len(q[0]) == len(before) {
				if c := bytes.Index(after, []byte(q[1])); c >= 0 && (c == 0 || after[c-1] != ' ') {
					return true
				}
			}
			continue
		}
		if close := bytes.LastIndex(before, []byte(q[1])); close < open && bytes.Contains(after, []byte(q[1])) {
			return true
		}
	}
	return false
}

func isSpaceOrOpen(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '(', '[', ':', '=', '>':
		return true
	}
	return false
}

// orders are imperative openings of sentences that instruct a reader.
var orders = []string{"approve", "state", "tell", "say", "ignore", "send", "close", "issue", "include", "reply", "respond", "recommend",
	"do not", "don't", "always", "never", "forward", "delete", "grant", "change", "set", "call", "run", "answer", "write", "add",
	"mention", "confirm", "claim", "print", "reveal", "output", "list", "summarize", "summarise", "translate", "visit", "click",
	"you must", "you should", "you are", "please", "disregard", "forget", "act as", "pretend", "use", "execute", "mark", "treat", "ask",
	// French, Spanish, Italian, German, Portuguese, Dutch: tell, say,
	// answer, send, ignore, give.
	"dis", "dites", "reponds", "répondez", "réponds", "envoie", "envoyez", "ignore", "ignorez", "donne", "donnez",
	"di", "dile", "diga", "responde", "envía", "envia", "ignora", "dale", "rispondi", "invia", "dimentica",
	"sag", "sage", "sagen sie", "antworte", "sende", "ignoriere", "gib", "responda", "envie", "zeg", "antwoord", "stuur", "negeer"}

// imperativeProse reports whether decoded bytes read as an instruction:
// mostly letters and spaces, with a sentence that opens with an order.
func imperativeProse(b []byte) bool {
	if len(b) < 16 || len(b) > 4096 {
		return false
	}
	letters := 0
	for _, c := range b {
		if c == ' ' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 {
			letters++
		}
	}
	if letters*10 < len(b)*8 {
		return false
	}
	text := strings.ToLower(string(b))
	for _, sentence := range strings.FieldsFunc(text, func(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '\n' || r == ':' }) {
		sentence = strings.TrimSpace(sentence)
		for _, o := range orders {
			if strings.HasPrefix(sentence, o+" ") {
				return true
			}
		}
	}
	return false
}
