package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard"
)

// A full disk: the data directory is on a tiny tmpfs (mounted in a private
// mount namespace, so no privileges are needed). Once records no longer fit,
// responses are withheld with an error rather than forwarded unrecorded, the
// filter keeps running, and every response that did reach the client has
// its record.
func TestDiskFullFailsClosed(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed for the full-disk test: %v", err)
	}
	kb, _ := writeKB(t, map[string]string{"doc.md": strings.Repeat("a fairly long line of the document\n", 50)})
	mnt := t.TempDir()
	export := filepath.Join(t.TempDir(), "export.jsonl")
	data := filepath.Join(mnt, "data")
	script := fmt.Sprintf(`mount -t tmpfs -o size=192k tmpfs %[1]s || exit 99
%[2]s --data-dir %[3]s --log-level error wrap --name kb -- %[4]s -dir %[5]s
%[2]s --data-dir %[3]s audit export > %[6]s`, mnt, ctxguardBin, data, kbserverBin, kb, export)
	c := startRawCmd(t, exec.Command("unshare", "-rm", "sh", "-c", script))
	c.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"full","version":"1"}}}`)
	c.recv()
	ok, failed := map[string]bool{}, 0
	for i := 1; i <= 1500; i++ {
		c.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":"file:///kb/doc.md"}}`, i))
		line := c.recv()
		var m struct {
			ID     json.RawMessage     `json:"id"`
			Result json.RawMessage     `json:"result"`
			Error  *struct{ Code int } `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line: %v", err)
		}
		switch {
		case m.Error != nil && m.Error.Code == ctxguard.CodeFilterFailed:
			failed++
		case m.Result != nil:
			ok[string(m.ID)] = true
		default:
			t.Fatalf("unexpected answer %s", line)
		}
	}
	c.in.Close()
	if code := c.wait(); code != 0 {
		t.Fatalf("exit %d: %s", code, c.Stderr())
	}
	if failed == 0 {
		t.Fatalf("the disk never filled up (%d responses recorded); make the tmpfs smaller", len(ok))
	}
	f, err := os.Open(export)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recorded := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r ctxguard.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recorded[string(r.RequestID)] = true
	}
	for id := range ok {
		if !recorded[id] {
			t.Errorf("response %s was forwarded without a record", id)
		}
	}
	t.Logf("%d responses forwarded and recorded, %d withheld when the disk was full", len(ok), failed)
}
