package detectors_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/corpus"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

// BenchmarkScan measures the whole pipeline (normalise, match, confirm,
// decode, score) on one core: on the corpus mix (every document, poisoned
// and clean, in turn) and on a 1 MB document of ordinary business prose.
func BenchmarkScan(b *testing.B) {
	e := engine(b)
	docs, err := corpus.Load(os.DirFS("../corpus"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("corpus-mix", func(b *testing.B) {
		var total int64
		for _, d := range docs {
			total += int64(len(d.Text))
		}
		b.SetBytes(total / int64(len(docs)))
		// Steady state: the gates' states made on first use are made
		// before the clock starts.
		for _, d := range docs {
			if _, err := e.Scan(d.Text, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := e.Scan(docs[i%len(docs)].Text, nil); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("1MB-prose", func(b *testing.B) {
		doc := corpus.Prose(docs, 1<<20)
		if doc == nil {
			b.Fatal("no business documents in the corpus")
		}
		b.SetBytes(int64(len(doc)))
		if _, err := e.Scan(doc, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Scan(doc, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKeywords times the keyword walk alone over the normalised text
// of the corpus' business prose.
func BenchmarkKeywords(b *testing.B) {
	e := engine(b)
	docs, err := corpus.Load(os.DirFS("../corpus"))
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for _, d := range docs {
		if !d.Poisoned && d.Category == "business" {
			sb.Write(d.Text)
			sb.WriteString("\n\n")
		}
	}
	norm := normalize.New([]byte(sb.String())).Norm
	b.SetBytes(int64(len(norm)))
	for b.Loop() {
		e.WalkKeywords(norm)
	}
}

// BenchmarkNormalize times normalisation alone on the 1 MB document of
// BenchmarkScan.
func BenchmarkNormalize(b *testing.B) {
	docs, err := corpus.Load(os.DirFS("../corpus"))
	if err != nil {
		b.Fatal(err)
	}
	doc := corpus.Prose(docs, 1<<20)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		normalize.New(doc)
	}
}
