package config

// Anomaly configures anomaly detection on the stream of observations.
type Anomaly struct{}

func (a *Anomaly) check() error { return nil }
