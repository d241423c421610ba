package jsontree

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func benchDoc(size int) []byte {
	text := strings.Repeat("Invoices are paid on net-30 terms — Übersicht \"quoted\".\n", size/40+1)[:size]
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{
		"contents": []any{map[string]any{"uri": "file:///kb/doc.md", "mimeType": "text/markdown", "text": text}}}})
	return b
}

// BenchmarkParseAndDecode parses a resources/read response and decodes its
// text, next to encoding/json doing the same, in one run.
func BenchmarkParseAndDecode(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		doc := benchDoc(size)
		b.Run(fmt.Sprintf("jsontree/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				tr, err := Parse(doc, 0)
				if err != nil {
					b.Fatal(err)
				}
				c := tr.Get(tr.Get(tr.Get(0, "result"), "contents"), "")
				_ = c
				for e := range tr.Children(tr.Get(tr.Get(0, "result"), "contents")) {
					if _, _, err := tr.Text(nil, tr.Get(e, "text")); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("encoding-json/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var v struct {
					Result struct {
						Contents []struct{ Text string } `json:"contents"`
					} `json:"result"`
				}
				if err := json.Unmarshal(doc, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
