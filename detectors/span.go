package detectors

import (
	"unicode/utf8"
)

// spanGate finds where the match of a pattern anchored at the start of a
// text ends, with the regexp package's leftmost-first semantics, from a
// lazily built DFA: the same answer as regexp's FindIndex on `^(?:p)`, at
// a table look-up per character instead of an NFA step over every live
// thread of a large alternation.
//
// A state is an ordered list of program counters, in the order of the
// regexp package's own thread list (priority), and the class of the rune
// read last. Reading a rune follows the empty transitions from each
// counter in turn, depth first; where that reaches the match instruction a
// match ends at this position, and the threads after it (of lower
// priority) are dropped, as the package's NFA drops them. The match that
// ends last before no thread is left is the leftmost-first one.
//
// The pattern's counted repetitions are kept, so a state counts words and
// the walk ends soon after the text can no longer match. When the gate has
// made maxGateStates states it no longer knows, and end says so: the
// caller then asks the regexp package.
type spanGate struct {
	// g holds the byte classes, the states and the transition table; its
	// entries are a state id with matchHere set when a match ends before
	// the rune read.
	g *gate
}

// matchHere marks a transition taken from a position where a match of the
// highest priority so far ends.
const matchHere = 1 << 31

// newSpanGate compiles a span gate for pattern (already in normalised
// form), or returns nil when it cannot or when the pattern tests an
// assertion before its first rune (the match would then depend on the byte
// before the text, which the callers do not pass).
func newSpanGate(pattern string) *spanGate {
	g := compileGate(pattern, true, false)
	if g == nil || leadingAssertion(g.prog) {
		return nil
	}
	s := &spanGate{g: g}
	// As in newAnchoredGate, the start state's transitions are made now,
	// not on a document's first positions. (Which bytes may begin a match
	// is the anchored gate's to say: anchoredMatcher.mayLead.)
	for c := range byte(0x80) {
		s.step(g.start, int(g.byteClass[c]))
	}
	return s
}

// end returns the end of the leftmost-first match at the start of text
// (matched), when the gate can tell (known).
func (s *spanGate) end(text []byte) (end int, matched, known bool) {
	g := s.g
	if g.full.Load() {
		return 0, false, false
	}
	n := len(g.rep)
	t := *g.trans.Load()
	id := g.start
	end = -1
	for i := 0; i < len(text); {
		c := text[i]
		var k int
		size := 1
		if c < 0x80 {
			k = int(g.byteClass[c])
		} else {
			var r rune
			r, size = utf8.DecodeRune(text[i:])
			k = g.runeClass(r)
		}
		var next uint32
		if j := int(id)*n + k; j < len(t) {
			next = t[j].Load()
		}
		if next == idUnknown {
			next = s.step(id, k)
			if next == idUnknown {
				return 0, false, false
			}
			t = *g.trans.Load()
		}
		if next&matchHere != 0 {
			end = i
			next &^= matchHere
		}
		if next == idDead {
			return end, end >= 0, true
		}
		id = next
		i += size
	}
	st := (*g.list.Load())[id-firstID]
	f := st.final.Load()
	if f == 0 {
		g.mu.Lock()
		if _, matched := s.g.follow(st.pcs, st.prev, -1); matched {
			f = 1
		} else {
			f = 2
		}
		st.final.Store(f)
		g.mu.Unlock()
	}
	if f == 1 {
		end = len(text)
	}
	return end, end >= 0, true
}

// step computes and caches the transition of state id on rune class k:
// the next state's id (idDead when no thread is left), with matchHere when
// a match ends before the rune; idUnknown when the gate is full.
func (s *spanGate) step(id uint32, k int) uint32 {
	g := s.g
	r := g.rep[k]
	g.mu.Lock()
	defer g.mu.Unlock()
	st := (*g.list.Load())[id-firstID]
	runes, matched := g.follow(st.pcs, st.prev, r)
	var pcs []uint32
	for _, pc := range runes {
		in := &g.prog.Inst[pc]
		if matchRune(in, r) {
			pcs = appendNew(pcs, in.Out)
		}
	}
	next := uint32(idDead)
	if len(pcs) > 0 {
		ns := g.state(pcs, classOf(r))
		if ns == nil {
			return idUnknown
		}
		next = ns.id
	}
	if matched {
		next |= matchHere
	}
	(*g.trans.Load())[int(id)*len(g.rep)+k].Store(next)
	return next
}

// appendNew appends pc to pcs unless it is there already: of two threads
// at one counter only the first (of higher priority) lives.
func appendNew(pcs []uint32, pc uint32) []uint32 {
	for _, p := range pcs {
		if p == pc {
			return pcs
		}
	}
	return append(pcs, pc)
}
