package ctxguard

// BaselineStatus is how an item compared with what its owner signed (or, for
// a tool definition, with the definition pinned when the server was first
// seen). The values are stable: they are stored in records and exported.
type BaselineStatus string

// The outcomes of a baseline check.
const (
	// BaselineMatch: a trusted, unexpired manifest lists the item's URI
	// with exactly this content.
	BaselineMatch BaselineStatus = "signed-match"
	// BaselineDrifted: the content differs from the signed (or pinned)
	// one; the record carries the diff.
	BaselineDrifted BaselineStatus = "drifted"
	// BaselineUnsigned: no manifest lists the URI.
	BaselineUnsigned BaselineStatus = "unsigned"
	// BaselineExpired: the manifest that lists the URI has expired.
	BaselineExpired BaselineStatus = "signed-but-expired"
	// BaselineRejected: the manifest that lists the URI failed
	// verification (bad signature, unknown or out-of-scope key, rollback).
	BaselineRejected BaselineStatus = "manifest-rejected"
	// BaselinePinned: a tool definition seen for the first time, now pinned.
	BaselinePinned BaselineStatus = "pinned"
	// BaselinePinMatch: a tool definition equal to its pin.
	BaselinePinMatch BaselineStatus = "pin-match"
)

// Baseline is the result of checking one item against the baselines.
type Baseline struct {
	Status BaselineStatus `json:"status"`
	// Manifest and Sequence name the manifest the item was checked
	// against; Signer is the principal that signed it.
	Manifest string `json:"manifest,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
	Signer   string `json:"signer,omitempty"`
	// ExpectedSHA256 is the signed (or pinned) content's SHA-256, when it
	// differs from the item's.
	ExpectedSHA256 string `json:"expected_sha256,omitempty"`
	// Required is set when the item's URI is under a prefix the policy
	// requires a signature for.
	Required bool `json:"required,omitempty"`
	// Reason explains a rejected manifest or a diff that could not be made.
	Reason string `json:"reason,omitempty"`
	// Diff is a unified diff from the signed content to the served one,
	// cut at a bound (DiffTruncated) so that a record stays small.
	Diff          string `json:"diff,omitempty"`
	DiffTruncated bool   `json:"diff_truncated,omitempty"`
}

// Decision is what the policy does with an item.
type Decision string

// The decisions, from mildest to strongest.
const (
	// DecisionPass forwards the item; nothing is logged beyond its record.
	DecisionPass Decision = "pass"
	// DecisionAnnotate forwards the item and logs a warning.
	DecisionAnnotate Decision = "annotate"
	// DecisionQuarantine holds the item for a reviewer.
	DecisionQuarantine Decision = "quarantine"
	// DecisionBlock withholds the whole message: the client gets an error.
	DecisionBlock Decision = "block"
)

// Rank orders decisions: pass 1 … block 4, anything else 0.
func (d Decision) Rank() int {
	switch d {
	case DecisionPass:
		return 1
	case DecisionAnnotate:
		return 2
	case DecisionQuarantine:
		return 3
	case DecisionBlock:
		return 4
	}
	return 0
}

// ParseDecision reads a decision's name.
func ParseDecision(s string) (Decision, bool) {
	d := Decision(s)
	return d, d.Rank() > 0
}
