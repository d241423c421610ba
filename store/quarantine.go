package store

import (
	"context"
	"errors"

	"github.com/ctxguard/ctxguard"
)

// Quarantine is the review queue and the reviewers' decisions on content.
//
// Like Records, implementations are safe for concurrent use by goroutines
// and processes: the filters hold items while a reviewer acts.
type Quarantine interface {
	// Hold adds items, pending, and returns once they are durable. Items
	// without an ID get one.
	Hold(ctx context.Context, items []*ctxguard.QuarantineItem) error

	// Item returns one item; ErrNotFound when there is none.
	Item(ctx context.Context, id string) (*ctxguard.QuarantineItem, error)

	// Items calls fn for the items q selects, newest first, holding no
	// lock while fn runs.
	Items(ctx context.Context, q ItemQuery, fn func(*ctxguard.QuarantineItem) error) error

	// Review applies a reviewer's release or reject to the item, adds it to
	// the item's history and records the decision on its content, in one
	// transaction. A release allowlists the content's SHA-256 for the
	// item's URI (Scope "uri") or everywhere ("global"); a rejection
	// blocks it everywhere. A later review of the same item replaces the
	// earlier decision.
	Review(ctx context.Context, id string, a ctxguard.ReviewAction) (*ctxguard.QuarantineItem, error)

	// ContentDecision returns what reviewers decided for content with this
	// SHA-256 (hex) served at uri: StatusReleased, StatusRejected, or ""
	// for nothing; id names the item the decision was made on.
	ContentDecision(ctx context.Context, sha256, uri string) (status ctxguard.QuarantineStatus, id string, err error)

	// RejectedContent returns every rejected SHA-256 with the item it was
	// rejected on, and the changes cursor it is current to.
	RejectedContent(ctx context.Context) (map[string]string, uint64, error)

	// Count returns how many items have the status ("" for all), without
	// reading them.
	Count(ctx context.Context, status ctxguard.QuarantineStatus) (int, error)

	// Changes calls fn, in order, for each item held or reviewed after
	// cursor (0: from the start), with the cursor of that change, and
	// returns the last cursor. An item changed twice is reported twice.
	Changes(ctx context.Context, after uint64, fn func(cursor uint64, it *ctxguard.QuarantineItem) error) (uint64, error)
}

// ItemQuery selects quarantined items. The zero value selects all.
type ItemQuery struct {
	Status ctxguard.QuarantineStatus
	Server string
	// Before selects items with a smaller ID (the next page after the
	// last one shown).
	Before string
	// Limit, when positive, stops after Limit items.
	Limit int
}

// Errors of the quarantine.
var (
	ErrNotFound  = errors.New("store: no such item")
	ErrBadAction = errors.New("store: the action must be release or reject")
)
