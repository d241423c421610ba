package config

import (
	"errors"
	"time"
)

// Audit configures the tamper-evident provenance log (ctxguard audit).
type Audit struct {
	// Key is the file of the instance's checkpoint signing key; it is
	// made on first use, with its public half in Key + ".pub". Default:
	// audit.key in the data directory. Keep a copy of the public key, and
	// of checkpoints (ctxguard audit checkpoint), where whoever can write
	// the data directory cannot.
	Key string `toml:"key"`
	// Name names the log in its checkpoints and the key. Default:
	// "ctxguard-" and the host name.
	Name string `toml:"name"`
	// CheckpointInterval is how often a running filter signs a checkpoint
	// of the log's head (when it grew); it also signs one when it stops.
	// Default 1m.
	CheckpointInterval Duration `toml:"checkpoint_interval"`
	// Retention is how long records are kept: older ones are pruned in
	// the background, keeping a signed checkpoint that anchors the rest.
	// Default 90d (SOC 2, ISO 27001); "0s" keeps records forever.
	Retention *Duration `toml:"retention"`
	// PruneInterval is how often a running filter looks for records past
	// their retention (one process of those sharing a data directory
	// does it). Default 1h.
	PruneInterval Duration `toml:"prune_interval"`
}

// Defaults of [audit].
const (
	DefaultCheckpointInterval = time.Minute
	DefaultRetention          = 90 * 24 * time.Hour
	DefaultPruneInterval      = time.Hour
)

// RetentionOrDefault is the retention period; 0 means forever.
func (a *Audit) RetentionOrDefault() time.Duration {
	if a.Retention == nil {
		return DefaultRetention
	}
	return a.Retention.Duration
}

func (a *Audit) check() error {
	if a.CheckpointInterval.Duration < 0 || a.PruneInterval.Duration < 0 {
		return errors.New("audit: intervals must be positive")
	}
	if a.Retention != nil && a.Retention.Duration < 0 {
		return errors.New(`audit.retention: must be positive, or "0s" to keep records forever`)
	}
	if a.Retention != nil && a.Retention.Duration > 0 && a.Retention.Duration < time.Hour {
		return errors.New("audit.retention: under an hour is surely a mistake (records are evidence); write it in days, e.g. 90d")
	}
	return nil
}
