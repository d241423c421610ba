package detectors

// WalkKeywords runs the engine's keyword walk over a normalised text, for
// the benchmark of the walk alone.
func (e *Engine) WalkKeywords(norm []byte) (hits int) {
	e.starts.walk(e.trie, norm, func(start, end int, pattern int64) { hits++ })
	return hits
}

// SpanGate compiles pattern (in normalised form) into a span gate, or
// returns nil, for the tests that hold it to the regexp package.
func SpanGate(pattern string) func(text []byte) (end int, matched, known bool) {
	s := newSpanGate(pattern)
	if s == nil {
		return nil
	}
	return s.end
}
