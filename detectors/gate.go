package detectors

import (
	"encoding/binary"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// gate answers whether a confirm pattern matches anywhere in a text, and
// nothing more, with a lazily built DFA over the pattern's compiled
// program. It costs a table look-up per character, where the regexp
// package's NFA costs a walk over every live thread of a large alternation.
// Only a clause the gate lets through is handed to the regexp package for
// the exact leftmost-first match and its span; most clauses around a
// keyword do not match, so most never get there.
//
// States are made on first use and kept (up to maxGateStates per pattern;
// past that the gate lets everything through). A gate is safe for
// concurrent use: transitions are published atomically, states are made
// under a lock.
type gate struct {
	prog *syntax.Prog
	// Runes that every instruction of the program treats alike share a
	// class, and states keep one transition per class: byteClass maps
	// ASCII; bounds are the first runes of the ranges in which non-ASCII
	// runes behave alike, and range i is class nASCII+i. rep is a rune of
	// each class.
	byteClass [128]uint8
	nASCII    int
	bounds    []rune
	rep       []rune

	mu     sync.Mutex
	states map[string]*dstate
	// list holds the states by id (id - firstID), published whole so
	// that decide reads it without the lock.
	list atomic.Pointer[[]*dstate]
	// trans is the transition table, one row of len(rep) entries per
	// state id: the next state's id, or 0 while not made. It is one flat
	// array of 4-byte entries rather than a table per state, so that the
	// steps of a walk touch a few cache lines of one array; it is
	// replaced by a larger copy as states are added.
	trans   atomic.Pointer[[]atomic.Uint32]
	start   uint32
	full    atomic.Bool
	scratch []uint32
	// anchored gates answer whether a match starts at the beginning of
	// the text: the program's start is followed once, not at every
	// position, and a state with no program counters left is dead.
	anchored bool
	// lead marks the ASCII bytes a match of an anchored gate may begin
	// with (every non-ASCII byte may): a set of 128 bits that stays in
	// the cache, where the start state's transitions are pointers apart,
	// and the rest of the positions a caller tries are ruled out here.
	lead [2]uint64
}

// maxGateStates bounds the states one gate keeps.
const maxGateStates = 4096

// Character classes of the rune before a position, for the empty-width
// assertions (\b, ^, $).
const (
	prevStart = iota
	prevNewline
	prevWord
	prevOther
)

// dstate is a DFA state: the program counters still to be followed (before
// the epsilon closure, which depends on the next rune) and the class of
// the rune read last.
type dstate struct {
	pcs  []uint32
	prev int
	id   uint32
	// final is 1 when a match ends at the end of the text, 2 when none
	// does, 0 while not known.
	final atomic.Int32
}

// State ids with a meaning of their own in the transition table: not made
// yet, the pattern has matched, and (in an anchored gate) no thread is
// left. The states made have ids from firstID on.
const (
	idUnknown = iota
	idMatch
	idDead
	firstID
)

// newGate compiles a pattern (already in normalised form) into a gate, or
// returns nil when it cannot (the caller then always runs the regexp).
func newGate(pattern string) *gate {
	return compileGate(pattern, false, true)
}

// newExactGate compiles a gate for the pattern as written, its counted
// repetitions kept: it answers exactly whether the pattern matches, so a
// caller that needs no span can skip the regexp package, until the gate
// runs out of states (decide then tells the caller it does not know).
func newExactGate(pattern string) *gate {
	return compileGate(pattern, false, false)
}

// newAnchoredGate compiles a gate that answers whether a match of pattern
// starts at the beginning of a text, or returns nil when it cannot or when
// the answer would depend on the byte before the text (the pattern can
// test an empty-width assertion, such as \b, before its first rune).
func newAnchoredGate(pattern string) *gate {
	g := compileGate(pattern, true, true)
	if g == nil || leadingAssertion(g.prog) {
		return nil
	}
	// The transitions out of the start state are made now, not on a
	// document's first positions, and the bytes that do not kill it are
	// noted in lead.
	for c := range byte(0x80) {
		if g.step(g.start, int(g.byteClass[c])) != idDead {
			g.lead[c/64] |= 1 << (c % 64)
		}
	}
	return g
}

// mayLead reports whether a match of an anchored gate may begin with the
// byte c: when not, match of any text that begins with c is false.
func (g *gate) mayLead(c byte) bool {
	return c >= 0x80 || g.lead[c/64]&(1<<(c%64)) != 0
}

// leadingAssertion reports whether prog can reach an empty-width
// assertion from its start without reading a rune.
func leadingAssertion(prog *syntax.Prog) bool {
	seen := map[uint32]bool{}
	stack := []uint32{uint32(prog.Start)}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstEmptyWidth:
			return true
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		}
	}
	return false
}

func compileGate(pattern string, anchored, relaxed bool) *gate {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	if relaxed {
		re = relax(re)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	g := &gate{prog: prog, states: map[string]*dstate{}, anchored: anchored}
	set := map[rune]bool{0x80: true}
	bound := func(lo, hi rune) {
		if lo >= 0x80 {
			set[lo] = true
		}
		if hi+1 >= 0x80 && hi < utf8.MaxRune {
			set[hi+1] = true
		}
	}
	for _, in := range prog.Inst {
		if in.Op != syntax.InstRune && in.Op != syntax.InstRune1 {
			continue
		}
		if len(in.Rune) == 1 {
			// A single rune under case folding ([Bb] compiles to "B"
			// folded) matches every rune of its fold orbit, which may
			// reach beyond ASCII (k and the Kelvin sign): each is a class
			// of its own. (The flag means nothing for longer lists: the
			// parser has folded a class into its ranges.)
			r := in.Rune[0]
			bound(r, r)
			if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					bound(f, f)
				}
			}
			continue
		}
		for i := 0; i+1 < len(in.Rune); i += 2 {
			bound(in.Rune[i], in.Rune[i+1])
		}
	}
	for r := range set {
		g.bounds = append(g.bounds, r)
	}
	slices.Sort(g.bounds)
	// ASCII classes: bytes that every rune instruction, and the word
	// boundary, treat alike.
	sigs := map[string]uint8{}
	for c := range rune(0x80) {
		sig := make([]byte, 0, len(prog.Inst)+1)
		sig = append(sig, byte(classOf(c)))
		for i := range prog.Inst {
			in := &prog.Inst[i]
			switch in.Op {
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				if matchRune(in, c) {
					sig = append(sig, 1)
				} else {
					sig = append(sig, 0)
				}
			}
		}
		k, ok := sigs[string(sig)]
		if !ok {
			k = uint8(len(g.rep))
			sigs[string(sig)] = k
			g.rep = append(g.rep, c)
		}
		g.byteClass[c] = k
	}
	g.nASCII = len(g.rep)
	g.rep = append(g.rep, g.bounds...)
	if anchored {
		g.start = g.state([]uint32{uint32(prog.Start)}, prevStart).id
	} else {
		g.start = g.state(nil, prevStart).id
	}
	return g
}

// runeClass returns the class of a non-ASCII rune: its range's.
func (g *gate) runeClass(r rune) int {
	return g.nASCII + sort.Search(len(g.bounds), func(i int) bool { return g.bounds[i] > r }) - 1
}

// state returns the state for a set of program counters (sorted, without
// duplicates) and a previous-rune class, making it when new. The caller
// holds g.mu, or is the constructor.
func (g *gate) state(pcs []uint32, prev int) *dstate {
	key := make([]byte, 1+4*len(pcs))
	key[0] = byte(prev)
	for i, pc := range pcs {
		binary.LittleEndian.PutUint32(key[1+4*i:], pc)
	}
	if s, ok := g.states[string(key)]; ok {
		return s
	}
	if len(g.states) >= maxGateStates {
		g.full.Store(true)
		return nil
	}
	var list []*dstate
	if l := g.list.Load(); l != nil {
		list = *l
	}
	s := &dstate{pcs: slices.Clone(pcs), prev: prev, id: uint32(firstID + len(list))}
	g.states[string(key)] = s
	list = append(list, s)
	g.list.Store(&list)
	// The new state's row: the table grows by doubling, copied entry by
	// entry (writers hold the lock; a reader with the old table finds a
	// new entry missing and asks step, which reads the new one).
	n := len(g.rep)
	var old []atomic.Uint32
	if t := g.trans.Load(); t != nil {
		old = *t
	}
	if need := (int(s.id) + 1) * n; need > len(old) {
		t := make([]atomic.Uint32, max(need, 2*len(old), 8*n))
		for i := range old {
			t[i].Store(old[i].Load())
		}
		g.trans.Store(&t)
	}
	return s
}

// match reports whether the pattern matches anywhere in text.
func (g *gate) match(text []byte) bool {
	matched, known := g.decide(text)
	return matched || !known
}

// decide reports whether the pattern matches anywhere in text, when the
// gate can tell (known): not when it has run out of states.
func (g *gate) decide(text []byte) (matched, known bool) {
	if g == nil || g.full.Load() {
		return false, false
	}
	n := len(g.rep)
	t := *g.trans.Load()
	id := g.start
	for i := 0; i < len(text); {
		c := text[i]
		var k int
		if c < 0x80 {
			k = int(g.byteClass[c])
			i++
		} else {
			r, size := utf8.DecodeRune(text[i:])
			k = g.runeClass(r)
			i += size
		}
		var next uint32
		if j := int(id)*n + k; j < len(t) {
			next = t[j].Load()
		}
		if next == idUnknown {
			next = g.step(id, k)
			t = *g.trans.Load()
		}
		switch next {
		case idMatch:
			return true, true
		case idUnknown:
			return false, false // too many states: let the regexp decide
		case idDead:
			return false, true // no thread left, and none starts later
		}
		id = next
	}
	s := (*g.list.Load())[id-firstID]
	switch s.final.Load() {
	case 1:
		return true, true
	case 2:
		return false, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, matched = g.closure(s, -1)
	if matched {
		s.final.Store(1)
	} else {
		s.final.Store(2)
	}
	return matched, true
}

// step computes and caches the transition of state id on rune class k,
// and returns the next state's id: idMatch, idDead, or idUnknown when the
// gate has run out of states.
func (g *gate) step(id uint32, k int) uint32 {
	r := g.rep[k]
	g.mu.Lock()
	defer g.mu.Unlock()
	s := (*g.list.Load())[id-firstID]
	runes, matched := g.closure(s, r)
	next := uint32(idMatch)
	if !matched {
		var pcs []uint32
		for _, pc := range runes {
			in := &g.prog.Inst[pc]
			if matchRune(in, r) {
				pcs = append(pcs, in.Out)
			}
		}
		slices.Sort(pcs)
		pcs = slices.Compact(pcs)
		ns := g.state(pcs, classOf(r))
		switch {
		case ns == nil:
			return idUnknown
		case g.anchored && len(ns.pcs) == 0:
			next = idDead
		default:
			next = ns.id
		}
	}
	(*g.trans.Load())[int(id)*len(g.rep)+k].Store(next)
	return next
}

func matchRune(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return in.MatchRune(r)
}

func classOf(r rune) int {
	switch {
	case r == '\n':
		return prevNewline
	case r < 0x80 && syntax.IsWordChar(r):
		return prevWord
	}
	return prevOther
}

// representative returns a rune of a previous-rune class, for
// syntax.EmptyOpContext.
func representative(prev int) rune {
	switch prev {
	case prevStart:
		return -1
	case prevNewline:
		return '\n'
	case prevWord:
		return 'a'
	}
	return ' '
}

// closure follows the empty transitions from s's program counters and,
// last, from the program's start (the search is unanchored), with the
// assertions decided by the previous rune's class and next (-1 at the end
// of the text). It returns the rune-consuming instructions reached and
// whether a match was; when one was, step needs no instructions.
func (g *gate) closure(s *dstate, next rune) ([]uint32, bool) {
	roots := s.pcs
	if !g.anchored {
		roots = append(slices.Clip(roots), uint32(g.prog.Start))
	}
	return g.follow(roots, s.prev, next)
}

// follow follows the empty transitions from roots, taken as the threads of
// the regexp package in priority order, with the assertions decided by
// the class of the rune before (prev) and next (-1 at the end of the
// text). It returns the rune instructions reached before the first match
// instruction, in the package's order (depth first, an alternation's first
// branch before its second, each counter once), and whether a match
// instruction was reached: the threads after it have lower priority than
// the match and are not followed. The caller holds g.mu.
func (g *gate) follow(roots []uint32, prev int, next rune) ([]uint32, bool) {
	flags := syntax.EmptyOpContext(representative(prev), next)
	seen := make(map[uint32]bool, 2*len(roots)+8)
	var runes []uint32
	stack := g.scratch[:0]
	defer func() { g.scratch = stack[:0] }()
	for i := len(roots) - 1; i >= 0; i-- {
		stack = append(stack, roots[i])
	}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &g.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			return runes, true
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Arg, in.Out)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^flags == 0 {
				stack = append(stack, in.Out)
			}
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			runes = append(runes, pc)
		}
	}
	return runes, false
}

// relax widens counted repetitions, x{0,n} to x* and x{m,n} to x+: the
// gate then accepts a superset of what the pattern matches (it stays a
// sound filter) with far fewer states, since the DFA no longer counts
// words in "(?:\S+\s+){0,6}?".
func relax(re *syntax.Regexp) *syntax.Regexp {
	for i, sub := range re.Sub {
		re.Sub[i] = relax(sub)
	}
	if re.Op == syntax.OpRepeat {
		op := syntax.OpStar
		if re.Min > 0 {
			op = syntax.OpPlus
		}
		return &syntax.Regexp{Op: op, Flags: re.Flags, Sub: []*syntax.Regexp{re.Sub[0]}}
	}
	return re
}

// Matcher is a regular expression behind a gate: Match asks the gate
// first, and the regexp package only about texts the gate lets through.
// Detectors outside this package use it for expressions they run on every
// document. It is safe for concurrent use.
type Matcher struct {
	re *regexp.Regexp
	g  *gate
	// exact answers alone while it has states to spare; g and re are
	// asked when it cannot.
	exact *gate
}

// MustMatcher compiles expr (RE2 syntax, as regexp.MustCompile) into a
// Matcher, panicking when it does not compile.
func MustMatcher(expr string) *Matcher {
	return newMatcher(regexp.MustCompile(expr))
}

func newMatcher(re *regexp.Regexp) *Matcher {
	return &Matcher{re: re, g: newGate(re.String()), exact: newExactGate(re.String())}
}

// Match reports whether the expression matches anywhere in b.
func (m *Matcher) Match(b []byte) bool {
	if matched, known := m.exact.decide(b); known {
		return matched
	}
	return m.g.match(b) && m.re.Match(b)
}
