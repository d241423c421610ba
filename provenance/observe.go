package provenance

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/ctxguard/ctxguard"
)

// Sums are an item's checksums.
type Sums struct {
	SHA256   [sha256.Size]byte
	XXHash64 uint64
}

// chunk is how much of the input each hash takes in turn, so that both
// read the bytes while they are still in the CPU cache.
const chunk = 16 << 10

// Sum computes both checksums of b in one pass over the bytes.
func Sum(b []byte) Sums {
	h := sha256.New()
	x := xxhash.New()
	for len(b) > 0 {
		n := min(len(b), chunk)
		h.Write(b[:n])
		x.Write(b[:n])
		b = b[n:]
	}
	var s Sums
	h.Sum(s.SHA256[:0])
	s.XXHash64 = x.Sum64()
	return s
}

// SHA256Hex returns the SHA-256 of b in hex, for argument hashes.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Observe returns the record of an item seen at time now, and its checksums.
func Observe(it *ctxguard.Item, origin *ctxguard.Origin, now time.Time) (ctxguard.Record, Sums) {
	s := Sum(it.Content)
	rec := ctxguard.Record{
		Time:     now.UTC(),
		Origin:   *origin,
		Path:     it.Path,
		Kind:     it.Kind,
		MIMEType: it.MIMEType,
		Size:     int64(len(it.Content)),
		SHA256:   hex.EncodeToString(s.SHA256[:]),
		XXHash64: hex.EncodeToString(binary.BigEndian.AppendUint64(nil, s.XXHash64)),
		Note:     it.Note,
	}
	// An item that names its own URI or definition (an embedded resource,
	// a tool in tools/list) is recorded under that name.
	if it.URI != "" {
		rec.URI = it.URI
	}
	if it.Name != "" {
		switch it.Kind {
		case ctxguard.KindTool:
			rec.Tool = it.Name
		case ctxguard.KindPrompt:
			rec.Prompt = it.Name
		}
	}
	return rec, s
}
