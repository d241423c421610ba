//go:build race

package httpproxy

// The race detector drops a share of what goes into a sync.Pool on purpose,
// so garbage measurements that rely on a warm pool do not hold under it.
func init() { raceEnabled = true }
