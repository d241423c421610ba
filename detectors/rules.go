package detectors

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

// RuleSet is one detector family's rules, as written in its TOML file.
type RuleSet struct {
	// Detector is the family's ID.
	Detector string `toml:"detector"`
	Rules    []Rule `toml:"rules"`
}

// Rule is one pattern of attack. An id never changes meaning.
type Rule struct {
	ID          string            `toml:"id"`
	Description string            `toml:"description"`
	Severity    ctxguard.Severity `toml:"severity"`
	// Keywords are the phrases that make the rule a candidate, matched in
	// the normalised text (lower case, look-alikes folded). Keep them
	// specific: every occurrence costs a confirmation.
	Keywords []string `toml:"keywords"`
	// Confirm are regular expressions over the normalised text around a
	// keyword; when set, one must match there for the rule to fire, and
	// the match is the finding's span. Without them, the keyword is.
	Confirm []string `toml:"confirm"`
	// Unless are regular expressions that, matching anywhere in the window,
	// veto the rule there: negations ("will never ask for your password"),
	// and contexts that make the words harmless ("Android developer mode").
	Unless []string `toml:"unless"`
	// Window is how many bytes either side of a keyword the confirmation
	// looks at (default 160).
	Window int `toml:"window"`
	// Examples must fire; Counterexamples must not. A table test checks
	// both for every rule.
	Examples        []string `toml:"examples"`
	Counterexamples []string `toml:"counterexamples"`
	// Disabled turns off a built-in rule from a user's rule file.
	Disabled bool `toml:"disabled"`
}

// ParseRules reads a rule file. Unknown keys are an error, so a typo does
// not silently disable a rule.
func ParseRules(name string, data []byte) (*RuleSet, error) {
	var rs RuleSet
	md, err := toml.Decode(string(data), &rs)
	if err != nil {
		return nil, fmt.Errorf("detectors: rules %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("detectors: rules %s: unknown key %s", name, und[0])
	}
	seen := map[string]bool{}
	for _, r := range rs.Rules {
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("detectors: rules %s: a rule has no id", name)
		case seen[r.ID]:
			return nil, fmt.Errorf("detectors: rules %s: rule %s defined twice", name, r.ID)
		case !r.Disabled && r.Severity.Rank() == 0:
			return nil, fmt.Errorf("detectors: rules %s: rule %s: severity must be low, medium, high or critical", name, r.ID)
		case !r.Disabled && len(r.Keywords) == 0:
			return nil, fmt.Errorf("detectors: rules %s: rule %s has no keywords", name, r.ID)
		}
		seen[r.ID] = true
	}
	return &rs, nil
}

// MustParseRules is ParseRules for rules embedded in the binary.
func MustParseRules(name string, data []byte) *RuleSet {
	rs, err := ParseRules(name, data)
	if err != nil {
		panic(err)
	}
	return rs
}

// Merge returns the rules of rs with those of user added, a user rule
// replacing a built-in one of the same id.
func (rs *RuleSet) Merge(user *RuleSet) *RuleSet {
	out := &RuleSet{Detector: rs.Detector}
	byID := map[string]int{}
	for _, r := range rs.Rules {
		byID[r.ID] = len(out.Rules)
		out.Rules = append(out.Rules, r)
	}
	for _, r := range user.Rules {
		if i, ok := byID[r.ID]; ok {
			out.Rules[i] = r
		} else {
			out.Rules = append(out.Rules, r)
		}
	}
	return out
}

// PhraseDetector is a detector whose rules are keywords confirmed by
// regular expressions: most families are one.
type PhraseDetector struct {
	id       string
	rules    []*compiledRule
	keywords []string // normalised
	kwRule   []int    // keyword index → rule index
}

type compiledRule struct {
	Rule
	confirm, unless []*regexp.Regexp
	// prefilters are the confirm patterns' cheap necessary conditions;
	// gates tell exactly whether they match in a clause (gate.go).
	prefilters []prefilter
	gates      []*gate
	// anchored[i], when set, matches confirm[i] only at the start of a
	// text: firstCovering then tries the word starts before a keyword one
	// by one instead of searching the clause (see firstCoveringAt).
	anchored []*anchoredMatcher
	// unlessMatch are the unless patterns behind their gates.
	unlessMatch []*Matcher
}

var _ Keyworded = (*PhraseDetector)(nil)

// NewPhraseDetector compiles a rule set.
func NewPhraseDetector(rs *RuleSet) (*PhraseDetector, error) {
	d := &PhraseDetector{id: rs.Detector}
	var errs []error
	for _, r := range rs.Rules {
		if r.Disabled {
			continue
		}
		cr := &compiledRule{Rule: r}
		if cr.Window <= 0 {
			cr.Window = 160
		}
		compile := func(what string, srcs []string, into *[]*regexp.Regexp) {
			for _, c := range srcs {
				re, err := regexp.Compile(normalize.RegexSource(c))
				if err != nil {
					errs = append(errs, fmt.Errorf("detectors: %s: rule %s: %s %q: %w", rs.Detector, r.ID, what, c, err))
					continue
				}
				*into = append(*into, re)
			}
		}
		compile("confirm", r.Confirm, &cr.confirm)
		for _, re := range cr.confirm {
			cr.prefilters = append(cr.prefilters, newPrefilter(re.String()))
			cr.gates = append(cr.gates, newGate(re.String()))
			cr.anchored = append(cr.anchored, newAnchoredMatcher(re.String()))
		}
		compile("unless", r.Unless, &cr.unless)
		for _, re := range cr.unless {
			cr.unlessMatch = append(cr.unlessMatch, newMatcher(re))
		}
		ri := len(d.rules)
		d.rules = append(d.rules, cr)
		for _, k := range r.Keywords {
			nk := normalize.Phrase(k)
			if nk == "" {
				errs = append(errs, fmt.Errorf("detectors: %s: rule %s: keyword %q is empty once normalised", rs.Detector, r.ID, k))
				continue
			}
			d.keywords = append(d.keywords, nk)
			d.kwRule = append(d.kwRule, ri)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// ID implements Detector.
func (d *PhraseDetector) ID() string { return d.id }

// Keywords implements Keyworded.
func (d *PhraseDetector) Keywords() []string { return d.keywords }

// Rules returns the detector's rules, for tests and documentation.
func (d *PhraseDetector) Rules() []Rule {
	out := make([]Rule, len(d.rules))
	for i, r := range d.rules {
		out[i] = r.Rule
	}
	return out
}

// RuleInfo implements Documented.
func (d *PhraseDetector) RuleInfo() []RuleInfo {
	out := make([]RuleInfo, len(d.rules))
	for i, r := range d.rules {
		out[i] = RuleInfo{ID: r.ID, Detector: d.id, Description: r.Description, Severity: r.Severity}
	}
	return out
}

// Detect implements Detector.
//
// Confirmation runs per rule and clause: a hit is widened to its sentence
// (at most Window bytes either side), and each of the rule's regular
// expressions whose literal prefilter passes is searched there, unanchored,
// once; only when it matches somewhere are matches before the keyword
// looked at one by one for one that covers it. Hits of a rule that fall in
// a clause already found to have no match are not searched again.
func (d *PhraseDetector) Detect(doc *Document, hits []Hit) ([]ctxguard.Finding, error) {
	var out []ctxguard.Finding
	type key struct {
		rule       int
		start, end int
	}
	var seen map[key]bool
	add := func(ri, start, end int) {
		k := key{ri, start, end}
		if seen[k] {
			return
		}
		if seen == nil {
			seen = map[key]bool{}
		}
		seen[k] = true
		r := d.rules[ri]
		if r.vetoed(doc.Norm, start, end) {
			return
		}
		out = append(out, ctxguard.Finding{Detector: d.id, Rule: r.ID, Severity: r.Severity, Start: start, End: end})
	}
	// Hits come in text order; a rule's hits are taken in turn, and a
	// clause inside the last one found without a match (per pattern) is
	// not searched again.
	type span struct{ lo, hi int }
	misses := make([]span, 0, 16)
	order, grouped, ends := d.group(hits, add)
	// tried remembers, per pattern, the word starts already tried in a
	// clause: every start in [lo, from) has no anchored match there that
	// reaches end. A later hit of the rule in the same clause that ends
	// at end or after has no match from those starts either (a match that
	// did not reach the earlier hit's end does not reach its), so its
	// search resumes at from.
	type resume struct{ lo, hi, from, end int }
	// Rules have a few patterns: these live on the stack unless one has
	// more than 16.
	tried := make([]resume, 0, 16)
	// passed caches the prefilter's answer, per pattern, for the last
	// clause it was asked about: a rule's hits often share one.
	type verdict struct {
		lo, hi int
		ok     bool
	}
	passed := make([]verdict, 0, 16)
	// pairs holds the byte pairs of the clauses, for the prefilters: every
	// rule with a hit in a clause asks about its literals.
	var pairs *pairCache
	for k, ri := range order {
		r := d.rules[ri]
		ruleHits := grouped[:ends[k]]
		if k > 0 {
			ruleHits = grouped[ends[k-1]:ends[k]]
		}
		misses = append(misses[:0], make([]span, len(r.confirm))...)
		tried = append(tried[:0], make([]resume, len(r.confirm))...)
		passed = append(passed[:0], make([]verdict, len(r.confirm))...)
		for ci := range passed {
			passed[ci].lo = -1
		}
		for _, h := range ruleHits {
			lo, hi := clause(doc.Norm, h.Start, h.End, r.Window)
			text := doc.Norm[lo:hi]
			for ci, re := range r.confirm {
				if m := misses[ci]; m.lo <= lo && hi <= m.hi {
					continue
				}
				if v := &passed[ci]; v.lo != lo || v.hi != hi {
					if pairs == nil {
						pairs = getPairCache()
					}
					*v = verdict{lo, hi, r.prefilters[ci].match(text, pairs.of(doc.Norm, lo, hi))}
				}
				if !passed[ci].ok {
					continue
				}
				if r.anchored[ci] != nil {
					// The word starts before the keyword are tried one by
					// one; a clause without a match is not remembered, as
					// the search for one costs little.
					from := lo
					if t := tried[ci]; t.lo == lo && t.hi == hi && h.End >= t.end {
						from = t.from
					}
					ms, me, ok := firstCoveringAt(doc.Norm, r.anchored[ci], lo, hi, from, h)
					if ok {
						tried[ci] = resume{lo, hi, ms, h.End}
						add(ri, ms, me)
						break
					}
					tried[ci] = resume{lo, hi, max(from, h.Start+1), h.End}
					continue
				}
				if !r.gates[ci].match(text) {
					misses[ci] = span{lo, hi}
					continue
				}
				ms, me, ok, any := firstCovering(doc.Norm, re, lo, hi, h)
				if ok {
					add(ri, ms, me)
					break
				}
				if !any {
					misses[ci] = span{lo, hi}
				}
			}
		}
	}
	if pairs != nil {
		pairCaches.Put(pairs)
	}
	return out, nil
}

// group sorts the hits of rules with confirm patterns by rule, the rules
// in the order of their first hit and each rule's hits in text order (the
// order hits come in), into one slice: grouped[ends[k-1]:ends[k]] are the
// hits of rule order[k]. Hits of rules without confirm patterns are handed
// to add. A counting sort, so that a document costs a few allocations
// rather than a slice per rule.
func (d *PhraseDetector) group(hits []Hit, add func(ri, start, end int)) (order []int, grouped []Hit, ends []int) {
	var count []int
	for _, h := range hits {
		ri := d.kwRule[h.Keyword]
		if len(d.rules[ri].confirm) == 0 {
			add(ri, h.Start, h.End)
			continue
		}
		if count == nil {
			count = make([]int, len(d.rules))
		}
		if count[ri] == 0 {
			order = append(order, ri)
		}
		count[ri]++
	}
	if order == nil {
		return nil, nil, nil
	}
	// count[ri] becomes where rule ri's next hit goes.
	ends = make([]int, len(order))
	n := 0
	for k, ri := range order {
		c := count[ri]
		count[ri] = n
		n += c
		ends[k] = n
	}
	grouped = make([]Hit, n)
	for _, h := range hits {
		if ri := d.kwRule[h.Keyword]; len(d.rules[ri].confirm) > 0 {
			grouped[count[ri]] = h
			count[ri]++
		}
	}
	return order, grouped, ends
}

// firstCovering finds the leftmost match of a pattern that starts at a
// word start in [lo, h.Start] and covers the hit, searching norm[lo:hi]. A
// match found unanchored at a position is the one the pattern anchored
// there would give (leftmost-first), so the search moves from match to
// match rather than trying every word start. any reports whether the
// pattern matched in the clause at all.
func firstCovering(norm []byte, re *regexp.Regexp, lo, hi int, h Hit) (ms, me int, ok, any bool) {
	for s := lo; s <= h.Start; {
		m := re.FindIndex(norm[s:hi])
		if m == nil {
			return 0, 0, false, any
		}
		any = true
		ms, me = s+m[0], s+m[1]
		if ms > h.Start {
			return 0, 0, false, true
		}
		if me >= h.End && (ms == lo || startsWord(norm, ms)) {
			return ms, me, true, true
		}
		s = ms + 1
	}
	return 0, 0, false, any
}

// firstCoveringAt returns the match firstCovering finds, for a pattern
// whose match at a position does not depend on the byte before it (no
// leading assertion): that match is the anchored match at the first word
// start in [lo, h.Start] whose anchored match covers the hit. The lead
// bytes rule out most word starts, and the rest are matched anchored, so
// the clause is never searched as a whole. The word starts before from
// are known to give no match that covers the hit, and are skipped.
func firstCoveringAt(norm []byte, a *anchoredMatcher, lo, hi, from int, h Hit) (ms, me int, ok bool) {
	for p := from; p <= h.Start; p++ {
		if !a.mayLead(norm[p]) || p != lo && !startsWord(norm, p) {
			continue
		}
		if e, ok := a.match(norm[p:hi]); ok && p+e >= h.End {
			return p, p + e, true
		}
	}
	return 0, 0, false
}

// anchoredMatcher matches a pattern at the start of a text: the span gate
// gives the match's end; when it has run out of states, the relaxed
// anchored gate rules out what it can and the regexp package matches the
// rest.
type anchoredMatcher struct {
	span *spanGate
	gate *gate
	re   *regexp.Regexp
}

// newAnchoredMatcher returns nil for a pattern with a leading assertion.
func newAnchoredMatcher(pattern string) *anchoredMatcher {
	g := newAnchoredGate(pattern)
	if g == nil {
		return nil
	}
	return &anchoredMatcher{span: newSpanGate(pattern), gate: g, re: regexp.MustCompile(`^(?:` + pattern + `)`)}
}

// mayLead reports whether a match may begin with the byte c.
func (a *anchoredMatcher) mayLead(c byte) bool { return a.gate.mayLead(c) }

// match returns the end of the leftmost-first match at the start of text.
func (a *anchoredMatcher) match(text []byte) (end int, ok bool) {
	if a.span != nil {
		if e, matched, known := a.span.end(text); known {
			return e, matched
		}
	}
	if !a.gate.match(text) {
		return 0, false
	}
	if m := a.re.FindIndex(text); m != nil {
		return m[1], true
	}
	return 0, false
}

// startsWord reports whether a token begins at s: after a space or
// punctuation, or at a change into or out of a letter (for scripts written
// without spaces, every position may start a word).
func startsWord(norm []byte, s int) bool {
	p := norm[s-1]
	c := norm[s]
	if c >= 0x80 && (c&0xC0) == 0x80 {
		return false // inside a multi-byte character
	}
	if p == ' ' || p == '(' || p == '[' || p == '"' || p == '\'' || p == ':' || p == ',' || p == '>' || p == '<' || p == '-' || p == '/' || p == '*' || p == '_' || p == '.' || p == '|' {
		return true
	}
	return c >= 0x80 || p >= 0x80 || !isAlnum(p) || !isAlnum(c)
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// clause returns the text around a keyword that a confirmation looks at:
// its sentence in the normalised text, split at ". ", "! " and "? ", at
// most limit bytes either side.
func clause(norm []byte, start, end, limit int) (int, int) {
	lo := start
	for lo > 0 && start-lo < limit {
		if lo >= 2 && norm[lo-1] == ' ' && (norm[lo-2] == '.' || norm[lo-2] == '!' || norm[lo-2] == '?') {
			break
		}
		lo--
	}
	hi := end
	for hi < len(norm) && hi-end < limit {
		if hi+1 < len(norm) && (norm[hi] == '.' || norm[hi] == '!' || norm[hi] == '?') && norm[hi+1] == ' ' {
			hi++
			break
		}
		hi++
	}
	return lo, hi
}

// vetoed reports whether an Unless pattern matches in the sentence of
// [start, end): a negation or a harmless context vetoes the words it goes
// with, not a different sentence of the same document.
func (r *compiledRule) vetoed(norm []byte, start, end int) bool {
	if len(r.unless) == 0 {
		return false
	}
	ss, se := sentence(norm, start, end, r.Window)
	for _, m := range r.unlessMatch {
		if m.Match(norm[ss:se]) {
			return true
		}
	}
	return false
}

// sentence widens [start, end) to the sentence around it in the normalised
// text (which has no line breaks): to the nearest ". ", "! ", "? ", "; " or
// ": " either side, at most limit bytes away.
func sentence(norm []byte, start, end, limit int) (int, int) {
	ss := start
	for ss > 0 && start-ss < limit {
		if ss >= 2 && norm[ss-1] == ' ' && strings.IndexByte(".!?;", norm[ss-2]) >= 0 {
			break
		}
		ss--
	}
	se := end
	for se < len(norm) && se-end < limit {
		if se+1 < len(norm) && strings.IndexByte(".!?;", norm[se]) >= 0 && norm[se+1] == ' ' {
			se++
			break
		}
		se++
	}
	return ss, se
}

// emphasis reports whether norm[i] is an underscore that opens or closes
// Markdown emphasis ("_Assistant reading this…_"): one with no word byte
// on its other side. It separates words as a space does.
func emphasis(norm []byte, i int) bool {
	if norm[i] != '_' {
		return false
	}
	before := i > 0 && isWordByte(norm[i-1])
	after := i+1 < len(norm) && isWordByte(norm[i+1])
	return !before || !after
}

// wordBoundary reports whether a keyword hit stands as a word in the
// normalised text: keywords are matched as substrings, and "rule" must not
// fire inside "overrule". An ASCII keyword needs a boundary before it, and
// after it unless the rule wrote it with a trailing "*" (a stem: "instruct*").
// Keywords in scripts without spaces (Chinese, Japanese) match anywhere.
// An underscore of Markdown emphasis is a boundary.
func wordBoundary(norm []byte, start, end int, keyword string, stem bool) bool {
	isWord := func(c byte) bool {
		return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
	}
	if start > 0 && isWord(keyword[0]) && isWord(norm[start-1]) && !emphasis(norm, start-1) {
		return false
	}
	if !stem && end < len(norm) && isWord(keyword[len(keyword)-1]) && isWord(norm[end]) && !emphasis(norm, end) {
		return false
	}
	return true
}
