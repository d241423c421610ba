package ctxguard

import "time"

// QuarantineStatus is where an item stands in the review queue. The values
// are stable: they are stored, exported and matched by outside tools.
type QuarantineStatus string

// The statuses of a quarantined item.
const (
	StatusPending  QuarantineStatus = "pending"
	StatusReleased QuarantineStatus = "released"
	StatusRejected QuarantineStatus = "rejected"
)

// QuarantineItem is one piece of content held for review: what it was, why
// it was held, and what reviewers did with it. The JSON names are a
// contract (quarantine ls --json, the review API): extend, never rename.
type QuarantineItem struct {
	// ID sorts by creation time.
	ID        string           `json:"id"`
	Status    QuarantineStatus `json:"status"`
	CreatedAt time.Time        `json:"created_at"`
	Server    string           `json:"server"`
	URI       string           `json:"uri,omitempty"`
	Tool      string           `json:"tool,omitempty"`
	SHA256    string           `json:"sha256"`
	Score     float64          `json:"score"`
	Findings  []Finding        `json:"findings"`
	// Reasons say, for the reviewer, why the item was held: the detectors'
	// score, a baseline outcome, a policy rule.
	Reasons []string `json:"reasons"`
	// Withheld is false when the policy ran in monitor mode: the item was
	// queued but the client got the content.
	Withheld bool `json:"withheld"`
	// Record is the item's provenance record.
	Record Record `json:"record"`
	// Content is the item as the model would have read it, cut at a bound
	// (ContentTruncated); Binary content is kept as its checksum only.
	Content          string `json:"content"`
	ContentSize      int64  `json:"content_size"`
	ContentTruncated bool   `json:"content_truncated,omitempty"`
	Binary           bool   `json:"binary,omitempty"`
	// History lists what happened to the item, oldest first.
	History []ReviewAction `json:"history"`
}

// ReviewAction is one thing that happened to a quarantined item.
type ReviewAction struct {
	// Action is "quarantine", "release" or "reject".
	Action   string    `json:"action"`
	Reviewer string    `json:"reviewer,omitempty"`
	At       time.Time `json:"at"`
	Note     string    `json:"note,omitempty"`
	// Scope of a release: "uri" (this content at this URI) or "global"
	// (this content anywhere). A rejection is always global.
	Scope string `json:"scope,omitempty"`
}

// crockford is the base32 alphabet of quarantine ids: no I, L, O or U, so
// an id read aloud or typed is not mistaken.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewQuarantineID returns an id that sorts by t (milliseconds, 10
// characters) and is unique by 80 random bits (16 characters), like a ULID.
func NewQuarantineID(t time.Time, random [10]byte) string {
	var b [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	var acc uint64
	bits, j := 0, 10
	for _, r := range random {
		acc = acc<<8 | uint64(r)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b[j] = crockford[(acc>>bits)&31]
			j++
		}
	}
	return string(b[:])
}
