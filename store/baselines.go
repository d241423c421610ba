package store

import (
	"context"
	"errors"
)

// Baselines is what the filter remembers of signed baselines and pinned
// definitions across restarts and processes.
type Baselines interface {
	// AcceptManifest records that the manifest of knowledge base name at
	// sequence seq, whose bytes hash to digest, was accepted. Accepting
	// the same manifest again is a no-op. It fails with ErrRollback when a
	// higher sequence of name was accepted before, and with
	// ErrSequenceReused when seq was accepted with other bytes: an
	// attacker who can replace the manifest file must not be able to bring
	// back an older, validly signed one.
	AcceptManifest(ctx context.Context, name string, seq uint64, digest [32]byte) error

	// AcceptedManifest returns the highest accepted sequence of name and
	// its digest; ok is false when none was accepted.
	AcceptedManifest(ctx context.Context, name string) (seq uint64, digest [32]byte, ok bool, err error)

	// Pin stores def as the pinned definition of (server, name) unless one
	// is pinned already, and returns the pinned one; first reports that def
	// was pinned now.
	Pin(ctx context.Context, p PinKey, def []byte) (pinned []byte, first bool, err error)

	// Pins calls fn for each pin of server ("" for every server), in key
	// order.
	Pins(ctx context.Context, server string, fn func(PinKey, []byte) error) error

	// Unpin removes the pin of (server, name), or every pin of the server
	// when name is empty, and returns how many it removed. The next
	// definition seen is pinned again.
	Unpin(ctx context.Context, p PinKey) (int, error)
}

// PinKey names a pinned definition: a tool (Kind "tool") of a server.
type PinKey struct {
	Server string
	Kind   string
	Name   string
}

// Errors of AcceptManifest.
var (
	ErrRollback       = errors.New("store: an older manifest than one already accepted")
	ErrSequenceReused = errors.New("store: a manifest sequence already accepted with other content")
)
