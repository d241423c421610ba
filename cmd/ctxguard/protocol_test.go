package main

import (
	"context"
	"os/exec"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
)

// Every protocol revision the Go SDK speaks works through the filter, from
// the 2024-11-05 handshake to the stateless 2026-07-28 one (server/discover,
// per-request _meta), and the records carry the negotiated revision and the
// client's identity.
func TestProtocolRevisions(t *testing.T) {
	kb, sums := writeKB(t, sampleDocs)
	for _, version := range []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"} {
		t.Run(version, func(t *testing.T) {
			data := t.TempDir()
			cmd := exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...)
			cmd.Stderr = testWriter{t}
			c := mcp.NewClient(&mcp.Implementation{Name: "rev-client", Version: version}, nil)
			ctx := context.Background()
			cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != version {
				t.Fatalf("negotiated %s", got)
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///kb/handbook.md"}); err != nil {
				t.Fatal(err)
			}
			cs.Close()
			var read, instructions bool
			for _, r := range readRecords(t, data) {
				if r.Kind == ctxguard.KindInstructions {
					instructions = true
					wantMethod := "initialize"
					if version == "2026-07-28" {
						wantMethod = "server/discover"
					}
					if r.Method != wantMethod {
						t.Errorf("instructions came with %s, want %s", r.Method, wantMethod)
					}
				}
				if r.Method == "resources/read" {
					read = true
					if r.SHA256 != sums["handbook.md"] || r.ProtocolVersion != version || r.Client != (ctxguard.Peer{Name: "rev-client", Version: version}) {
						t.Errorf("record %+v: want the file's checksum, protocol %s and the client's identity", r, version)
					}
				}
			}
			if !read || !instructions {
				t.Errorf("records: read %v, instructions %v", read, instructions)
			}
		})
	}
}
