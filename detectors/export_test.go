package detectors

// WalkKeywords runs the engine's keyword walk over a normalised text, for
// the benchmark of the walk alone.
func (e *Engine) WalkKeywords(norm []byte) (hits int) {
	e.starts.walk(e.trie, norm, func(start, end int, pattern int64) { hits++ })
	return hits
}
