package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's head: its size, the root of
// the tree over its first Size records, and when it was signed.
type Checkpoint struct {
	// Origin names the log: the signing key's name.
	Origin string
	Size   uint64
	Root   tlog.Hash
	Time   time.Time
}

// body is the checkpoint's text, which the signature covers:
//
//	<origin>
//	<size>
//	<root, base64>
//	time <RFC 3339>
func (c Checkpoint) body() string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]),
		c.Time.UTC().Format(time.RFC3339Nano))
}

// Sign returns the checkpoint as a signed note.
func (c Checkpoint) Sign(s note.Signer) ([]byte, error) {
	if c.Origin != s.Name() {
		return nil, fmt.Errorf("tlog: checkpoint origin %q is not the key's name %q", c.Origin, s.Name())
	}
	return note.Sign(&note.Note{Text: c.body()}, s)
}

// ErrSignature is wrapped by Open when a checkpoint is not signed by the
// expected key.
var ErrSignature = errors.New("not signed by the log's key")

// Open checks that signed is a checkpoint signed by v and returns it.
func Open(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unknown *note.UnknownVerifierError
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unknown) || errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("tlog: checkpoint %w %s (%v)", ErrSignature, v.Name(), err)
		}
		return Checkpoint{}, fmt.Errorf("tlog: checkpoint: %w", err)
	}
	c, err := parseBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("tlog: checkpoint names log %q, the key is %q", c.Origin, v.Name())
	}
	return c, nil
}

// parseBody reads exactly what body writes.
func parseBody(text string) (Checkpoint, error) {
	var c Checkpoint
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("tlog: checkpoint: %s", what)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 5 || lines[4] != "" {
		return bad("not four lines")
	}
	c.Origin = lines[0]
	if c.Origin == "" {
		return bad("no origin")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return bad("size is not a number")
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return bad("root is not a base64 SHA-256 hash")
	}
	copy(c.Root[:], root)
	ts, ok := strings.CutPrefix(lines[3], "time ")
	if !ok {
		return bad("no time line")
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return bad("time is not RFC 3339")
	}
	if c.body() != text {
		return bad("not in canonical form")
	}
	return c, nil
}

// Equal reports whether c and d state the same head (their times may
// differ: two processes may sign the same head).
func (c Checkpoint) Equal(d Checkpoint) bool {
	return c.Origin == d.Origin && c.Size == d.Size && bytes.Equal(c.Root[:], d.Root[:])
}

func (c Checkpoint) String() string {
	return fmt.Sprintf("checkpoint of %d records signed at %s", c.Size, c.Time.UTC().Format(time.RFC3339))
}
