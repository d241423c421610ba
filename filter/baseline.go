package filter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/store"
)

// BaselineStage checks every document against the signed baselines and
// every tool definition against the one pinned when the server was first
// seen, and keeps the outcome (with a diff when content drifted) in the
// item's record. What the outcome leads to is the decide stage's business.
type BaselineStage struct {
	// Baselines returns the current signed baselines; nil or a nil Set
	// when none are loaded (every document is then unsigned).
	Baselines func() *baseline.Set
	// Pins keeps tool definitions; nil turns pinning off.
	Pins store.Baselines
	// RequireSignature are URI prefixes whose documents must match a
	// signed baseline; their records are marked Required.
	RequireSignature []string
	Logger           *slog.Logger
	// MaxDiff bounds the diff kept in a record (baseline.DefaultMaxDiff
	// when zero).
	MaxDiff int
	Now     func() time.Time

	pinned sync.Map // pinKey → [32]byte, the SHA-256 of the pinned definition
	diffs  diffCache
}

// Name implements Stage.
func (s *BaselineStage) Name() string { return "baseline" }

// Run implements Stage.
func (s *BaselineStage) Run(ctx context.Context, ex *Exchange) error {
	var set *baseline.Set
	if s.Baselines != nil {
		set = s.Baselines()
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	for _, u := range ex.Units {
		for _, in := range u.Items {
			var err error
			switch {
			case isDocument(&in.Item) && s.checksDocuments():
				s.checkDocument(set, in, now)
			case in.Item.Kind == ctxguard.KindTool && s.Pins != nil && in.Item.Name != "":
				err = s.checkTool(ctx, ex, in)
			default:
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// checksDocuments reports whether documents are checked at all: with no
// manifests and no required prefixes every document would only be
// "unsigned", and its record need not say so.
func (s *BaselineStage) checksDocuments() bool {
	return s.Baselines != nil || len(s.RequireSignature) > 0
}

// isDocument reports whether an item is a document a manifest can sign:
// resource content under its URI (read, or embedded in a tool result).
func isDocument(it *ctxguard.Item) bool {
	return it.URI != "" && (it.Kind == ctxguard.KindText || it.Kind == ctxguard.KindBlob)
}

func (s *BaselineStage) checkDocument(set *baseline.Set, in *Inspection, now time.Time) {
	c := set.Lookup(in.Item.URI, in.Sums.SHA256, now)
	b := &ctxguard.Baseline{Status: c.Status}
	if c.Manifest != nil {
		b.Manifest = c.Manifest.Name()
		if v := c.Manifest.Verified; v != nil {
			b.Sequence, b.Signer = v.Manifest.Sequence, v.Principal
		}
		if c.Status == ctxguard.BaselineRejected {
			b.Reason = c.Manifest.Reason
		}
	}
	if c.Entry != nil && c.Entry.SHA256 != in.Sums.SHA256 {
		b.ExpectedSHA256 = hex.EncodeToString(c.Entry.SHA256[:])
		s.diffDocument(c, in, b)
	}
	b.Required = baseline.Covers(s.RequireSignature, in.Item.URI)
	in.Record.Baseline = b
}

// diffDocument adds the diff from the signed content, read from the
// manifest's snapshot, to the served one.
func (s *BaselineStage) diffDocument(c baseline.Check, in *Inspection, b *ctxguard.Baseline) {
	key := diffKey{c.Entry.SHA256, in.Sums.SHA256}
	if r, ok := s.diffs.get(key); ok {
		b.Diff, b.DiffTruncated, b.Reason = r.diff, r.truncated, r.reason
		return
	}
	var r diffResult
	snap, err := c.Manifest.Snapshot()
	if err == nil {
		var signed []byte
		if signed, err = snap.Content(c.Entry.SHA256, c.Entry.Size); err == nil {
			label := fmt.Sprintf("%s (signed, %s #%d)", in.Item.URI, b.Manifest, b.Sequence)
			r.diff, r.truncated, r.reason = baseline.Diff(signed, in.Item.Content, label, in.Item.URI+" (served)", s.maxDiff())
		}
	}
	if err != nil {
		r.reason = "no diff: " + err.Error()
	}
	s.diffs.put(key, r)
	b.Diff, b.DiffTruncated, b.Reason = r.diff, r.truncated, r.reason
}

func (s *BaselineStage) maxDiff() int {
	if s.MaxDiff > 0 {
		return s.MaxDiff
	}
	return baseline.DefaultMaxDiff
}

// checkTool compares a tool definition with its pin, pinning it when the
// server has none: a server that changes a tool's description or schema
// after it was first approved (a "rug pull") shows up as a drift.
func (s *BaselineStage) checkTool(ctx context.Context, ex *Exchange, in *Inspection) error {
	def := canonicalDefinition(ex.Frame[in.Item.Start:in.Item.End])
	sum := sha256.Sum256(def)
	key := store.PinKey{Server: ex.Session.Server, Kind: string(ctxguard.KindTool), Name: in.Item.Name}
	b := &ctxguard.Baseline{}
	if known, ok := s.pinned.Load(key); ok && known.([32]byte) == sum {
		b.Status = ctxguard.BaselinePinMatch
	} else {
		pinned, first, err := s.Pins.Pin(ctx, key, def)
		if err != nil {
			return err
		}
		pinnedSum := sha256.Sum256(pinned)
		s.pinned.Store(key, pinnedSum)
		switch {
		case first:
			b.Status = ctxguard.BaselinePinned
		case pinnedSum == sum:
			b.Status = ctxguard.BaselinePinMatch
		default:
			b.Status = ctxguard.BaselineDrifted
			b.ExpectedSHA256 = hex.EncodeToString(pinnedSum[:])
			b.Diff, b.DiffTruncated, b.Reason = baseline.Diff(indent(pinned), indent(def),
				"tool "+in.Item.Name+" (pinned)", "tool "+in.Item.Name+" (served)", s.maxDiff())
		}
	}
	in.Record.Baseline = b
	return nil
}

// canonicalDefinition is a definition's JSON without its _meta, with
// members sorted (RFC 8785), so that the same definition always pins to the
// same bytes however the server orders or spaces it. A value that does not
// decode as an object is kept as it came.
func canonicalDefinition(raw []byte) []byte {
	var members map[string]jsontext.Value
	if err := json.Unmarshal(raw, &members); err != nil {
		return bytes.Clone(raw)
	}
	delete(members, "_meta")
	out, err := json.Marshal(members, json.Deterministic(true))
	if err != nil {
		return bytes.Clone(raw)
	}
	v := jsontext.Value(out)
	if err := v.Canonicalize(); err != nil {
		return out
	}
	return v
}

// indent spreads canonical JSON over lines, one member a line, for a diff
// a reviewer can read.
func indent(def []byte) []byte {
	v := jsontext.Value(bytes.Clone(def))
	if err := v.Indent(jsontext.WithIndent("  ")); err != nil {
		return def
	}
	return append(v, '\n')
}

// diffCache remembers recent diffs by (signed, served) checksums: a drifted
// document read again is not diffed again.
type diffCache struct {
	mu sync.Mutex
	m  map[diffKey]diffResult
}

type diffKey struct{ signed, served [32]byte }

type diffResult struct {
	diff      string
	truncated bool
	reason    string
}

const diffCacheSize = 256

func (c *diffCache) get(k diffKey) (diffResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *diffCache) put(k diffKey, r diffResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= diffCacheSize {
		c.m = map[diffKey]diffResult{} // drifts are rare: start afresh rather than track recency
	}
	c.m[k] = r
}
