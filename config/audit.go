package config

// Audit configures the tamper-evident provenance log.
type Audit struct{}

func (a *Audit) check() error { return nil }
