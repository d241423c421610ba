package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Kill -9 the filter under load, reopen the store: every response the
// client received has its record, because records are stored before the
// response is forwarded.
func TestCrashKeepsEveryForwardedRecord(t *testing.T) {
	for _, durability := range []string{"strict", "relaxed"} {
		t.Run(durability, func(t *testing.T) {
			docs := map[string]string{}
			for i := range 8 {
				docs[fmt.Sprintf("d%d.md", i)] = strings.Repeat(fmt.Sprintf("line of document %d\n", i), 200*(i+1))
			}
			kb, sums := writeKB(t, docs)
			data := t.TempDir()
			c := startRaw(t, wrapArgs(data, []string{"--durability", durability}, kbserverBin, "-dir", kb)...)
			c.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"crash","version":"1"}}}`)
			c.recv()
			c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

			// Keep many requests in flight from a writer goroutine.
			const total = 2000
			go func() {
				for i := 1; i <= total; i++ {
					name := fmt.Sprintf("d%d.md", i%8)
					line := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":"file:///kb/%s"}}`+"\n", i, name)
					if _, err := c.in.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
			received := map[int]string{} // id → uri
			deadline := time.Now().Add(20 * time.Second)
			for len(received) < 300 && time.Now().Before(deadline) {
				var m struct {
					ID     int `json:"id"`
					Result struct {
						Contents []struct {
							URI string `json:"uri"`
						} `json:"contents"`
					} `json:"result"`
				}
				if err := json.Unmarshal([]byte(c.recv()), &m); err != nil || len(m.Result.Contents) != 1 {
					t.Fatalf("bad response: %v", err)
				}
				received[m.ID] = m.Result.Contents[0].URI
			}
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			c.cmd.Wait()

			byID := map[string]string{}
			for _, r := range readRecords(t, data) {
				if r.Method == "resources/read" {
					byID[string(r.RequestID)] = r.SHA256
				}
			}
			for id, uri := range received {
				want := sums[strings.TrimPrefix(uri, "file:///kb/")]
				if got, ok := byID[fmt.Sprint(id)]; !ok {
					t.Errorf("response %d reached the client but has no record", id)
				} else if got != want {
					t.Errorf("response %d: record sha256 %s, want %s", id, got, want)
				}
			}
			t.Logf("%d responses received before kill -9, %d records stored", len(received), len(byID))
		})
	}
}
