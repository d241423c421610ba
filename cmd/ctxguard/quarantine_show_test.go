package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// quarantine show prints what a server sent as text on one line each:
// a terminal control sequence in any of it (the session id of a Streamable
// HTTP server is its own Mcp-Session-Id) is not passed to the terminal.
func TestQuarantineShowSanitizes(t *testing.T) {
	data := t.TempDir()
	db, err := bolt.Open(data, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	esc := "\x1b]0;owned\x07\x1b[2J"
	now := time.Now().UTC()
	it := &ctxguard.QuarantineItem{Server: "kb" + esc, URI: "file:///a" + esc, SHA256: strings.Repeat("ab", 32), Score: 1,
		CreatedAt: now, Content: "text" + esc, Reasons: []string{"policy" + esc},
		Record: ctxguard.Record{Origin: ctxguard.Origin{Server: "kb", Method: "resources/read" + esc, Session: "sess" + esc}},
	}
	if err := db.Hold(context.Background(), []*ctxguard.QuarantineItem{it}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs := runMain(t, context.Background(), "--data-dir", data, "quarantine", "show", it.ID)
	if code != 0 {
		t.Fatalf("quarantine show: %d %s", code, errs)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("a control character reaches the terminal:\n%q", out)
	}
}
