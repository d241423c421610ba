package encoded

import (
	"testing"

	"github.com/ctxguard/ctxguard/corpus"
)

// BenchmarkFind times Find on one core: on the 1 MB of clean prose that
// the detectors' BenchmarkScan reads, on every clean document in turn (the
// per-document cost, as the engine calls Find), and on the poisoned
// encoded documents (payloads found and decoded).
func BenchmarkFind(b *testing.B) {
	docs, err := corpus.Load(corpus.Files)
	if err != nil {
		b.Fatal(err)
	}
	var clean, payloads [][]byte
	for _, d := range docs {
		switch {
		case !d.Poisoned:
			clean = append(clean, d.Text)
		case d.Category == "encoded":
			payloads = append(payloads, d.Text)
		}
	}
	prose := corpus.Prose(docs, 1<<20)
	if prose == nil || len(payloads) == 0 {
		b.Fatal("the corpus has no business prose or no encoded payloads")
	}
	run := func(b *testing.B, docs [][]byte) {
		var total int64
		for _, d := range docs {
			total += int64(len(d))
		}
		b.SetBytes(total / int64(len(docs)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			Find(docs[i%len(docs)], Limits{})
			i++
		}
	}
	b.Run("prose-1MB", func(b *testing.B) { run(b, [][]byte{prose}) })
	b.Run("clean-docs", func(b *testing.B) { run(b, clean) })
	b.Run("payload-docs", func(b *testing.B) { run(b, payloads) })
}
