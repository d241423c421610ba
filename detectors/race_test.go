//go:build race

package detectors_test

// The race detector slows the span gate's exhaustive agreement test about
// fifty times over and finds nothing in it (it runs on one goroutine), so
// under -race the test samples the corpus instead.
func init() { raceEnabled = true }
