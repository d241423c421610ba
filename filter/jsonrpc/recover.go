package jsonrpc

import (
	"bytes"
	"errors"
	"regexp"

	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// RecoverID finds the id of a message that was too large to read whole, from
// its first and last bytes. Serializers put the id either before the result
// (Go's) or after it (the TypeScript SDK's), so both ends are tried. The
// answer is a guess a caller must confirm, for example by finding a pending
// request with that id; it is only ever used to send that request an error.
func RecoverID(head, tail []byte) (id []byte, ok bool) {
	// A number that runs to the very end of head may have been cut there
	// ("id":12 of "id":123); only the tail can tell.
	if m, _ := parsePrefix(head); m.ID.Present() && !(m.ID.End == len(head) && head[m.ID.Start] != '"') {
		return bytes.Clone(m.ID.Of(head)), true
	}
	all := tailID.FindAllSubmatchIndex(tail, -1)
	if len(all) == 0 {
		return nil, false
	}
	last := all[len(all)-1]
	return bytes.Clone(tail[last[2]:last[3]]), true
}

// tailID matches an id member followed by the end of its object or the next
// member, as the last members of a serialized message look.
var tailID = regexp.MustCompile(`"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)\s*[,}]`)

// parsePrefix parses as much of a truncated message as there is, returning
// the envelope members read to their end before the truncation.
func parsePrefix(b []byte) (Message, error) {
	t, err := jsontree.ParsePrefix(b, MaxDepth)
	if t == nil || t.Kind(0) != jsontree.Object {
		return Message{}, errors.Join(err, ErrNotJSONRPC)
	}
	return message(t, 0), err
}
