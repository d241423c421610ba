package detectors

import (
	"bytes"
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
// one; an attack phrase quoted in such a document is weighed less.
var metaWords = []string{
	"prompt injection", "prompt-injection", "jailbreak*", "attacker*", "malicious", "adversar*", "red team*", "red-team*",
	"phishing", "social engineering", "security awareness", "threat model*", "payload*", "exploit*", "vulnerab*",
	"for example", "example of", "examples of", "e.g.", "such as", "owasp", "cve-", "injection attack*", "mitigat*",
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
		}
		e.owners[j] = append(e.owners[j], i)
	}
	e.trie = b.Build()
	return e, nil
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
	slices.SortStableFunc(findings, func(a, b ctxguard.Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
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
	var meta, rot13 bool
	norm := doc.Norm
	e.trie.Walk(norm, func(end, n, pi int64) bool {
		start := int(end - n + 1)
		stop := int(end + 1)
		for _, oi := range e.owners[pi] {
			p := e.patterns[oi]
			if !wordBoundary(norm, start, stop, p.text, p.stem) {
				continue
			}
			switch p.det {
			case ctxMeta:
				meta = true
			case ctxRot13:
				rot13 = true
			default:
				hits[p.det] = append(hits[p.det], Hit{Keyword: p.kw, Start: start, End: stop})
			}
		}
		return true
	})

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
			out = append(out, e.place(doc, f, meta))
		}
	}

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
		}
	}
	return out, errors.Join(errs...)
}

// place maps a finding from the normalised view to the original bytes and
// notes its context: inside a hidden region (severity raised one step), or
// quoted as an example in a document about attacks.
func (e *Engine) place(doc *Document, f ctxguard.Finding, meta bool) ctxguard.Finding {
	ns, ne := f.Start, f.End
	f.Start, f.End = doc.SrcSpan(ns, ne)
	if r, ok := doc.InHidden(ns); ok && f.Detector != "hidden" {
		f.Severity = raise(f.Severity)
		f.Note = joinNote(f.Note, "in hidden text ("+r.Reason+")")
	} else if meta && quoted(doc.Src, f.Start, f.End) {
		f.Note = joinNote(f.Note, NoteQuoted)
	}
	return f
}

// NoteQuoted marks a finding quoted as an example in a document that
// discusses attacks; Score weighs it less.
const NoteQuoted = "quoted in a document about attacks"

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
// on its line.
func quoted(src []byte, start, end int) bool {
	if bytes.Count(src[:start], []byte("```"))%2 == 1 || bytes.Count(src[:start], []byte("~~~"))%2 == 1 {
		return true
	}
	ls := bytes.LastIndexByte(src[:start], '\n') + 1
	le := bytes.IndexByte(src[end:], '\n')
	if le < 0 {
		le = len(src)
	} else {
		le += end
	}
	before, after := src[ls:start], src[end:le]
	if t := bytes.TrimLeft(src[ls:le], " \t"); bytes.HasPrefix(t, []byte(">")) {
		return true
	}
	for _, q := range [][2]string{{"`", "`"}, {`"`, `"`}, {"“", "”"}, {"„", "“"}, {"«", "»"}, {"'", "'"}, {"‘", "’"}, {"「", "」"}, {"『", "』"}} {
		if bytes.Count(before, []byte(q[0]))%2 == 1 || (q[0] != q[1] && bytes.Contains(before, []byte(q[0]))) {
			if bytes.Contains(after, []byte(q[1])) {
				return true
			}
		}
	}
	return false
}
