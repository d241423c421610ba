package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
)

// The npm reference server "everything" over stdio: a text/plain resource
// that arrives as a base64 blob, an image, an embedded resource and
// structured content. Each record's checksum equals the checksum of the
// bytes the Go SDK client decoded: the filter hashes what the model gets.
func TestWrapEverythingServer(t *testing.T) {
	everything := npmBin(t, "mcp-server-everything")
	data := t.TempDir()
	cs := connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, everything, "stdio")...))
	ctx := context.Background()
	want := map[ctxguard.ItemKind][]string{} // kind → checksums the client saw
	add := func(kind ctxguard.ItemKind, b []byte) {
		s := sha256.Sum256(b)
		want[kind] = append(want[kind], hex.EncodeToString(s[:]))
	}

	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "demo://resource/dynamic/blob/1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Contents) != 1 || len(rr.Contents[0].Blob) == 0 || rr.Contents[0].MIMEType != "text/plain" {
		t.Fatalf("expected a text/plain blob, got %+v", rr.Contents)
	}
	add(ctxguard.KindBlob, rr.Contents[0].Blob)

	img, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-tiny-image", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range img.Content {
		if ic, ok := c.(*mcp.ImageContent); ok {
			add(ctxguard.KindImage, ic.Data)
		}
	}
	ref, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-resource-reference", Arguments: map[string]any{"resourceId": 2, "resourceType": "Text"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ref.Content {
		if er, ok := c.(*mcp.EmbeddedResource); ok {
			add(ctxguard.KindText, []byte(er.Resource.Text))
		}
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-structured-content", Arguments: map[string]any{"location": "Chicago"}}); err != nil {
		t.Fatal(err)
	}
	if len(want[ctxguard.KindImage]) == 0 || len(want[ctxguard.KindText]) == 0 {
		t.Fatalf("the server did not return an image and an embedded resource: %v", want)
	}

	have := map[string]*ctxguard.Record{}
	var structured bool
	for _, r := range readRecords(t, data) {
		have[string(r.Kind)+" "+r.SHA256] = r
		if r.Kind == ctxguard.KindStructured && r.Tool == "get-structured-content" {
			structured = true
		}
	}
	for kind, sums := range want {
		for _, s := range sums {
			r, ok := have[string(kind)+" "+s]
			if !ok {
				t.Errorf("no %s record with the checksum of what the client decoded (%s)", kind, s)
				continue
			}
			if r.Note != "" {
				t.Errorf("%s record has note %q", kind, r.Note)
			}
		}
	}
	if !structured {
		t.Error("no structuredContent record for get-structured-content")
	}
}
