package encoded

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// corpusFiles returns the files of the corpus directories dirs (relative to
// ../../corpus), in name order.
func corpusFiles(tb testing.TB, dirs ...string) [][]byte {
	tb.Helper()
	var docs [][]byte
	for _, dir := range dirs {
		dir = filepath.Join("..", "..", "corpus", dir)
		ents, err := os.ReadDir(dir)
		if err != nil {
			tb.Fatal("no corpus:", err)
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				tb.Fatal(err)
			}
			docs = append(docs, b)
		}
	}
	return docs
}

// cleanDirs are the corpus' clean categories: prose, markdown, HTML, JSON,
// CSV, code, e-mail, and base64 fixtures that are not payloads.
func cleanDirs(tb testing.TB) []string {
	ents, err := os.ReadDir(filepath.Join("..", "..", "corpus", "clean"))
	if err != nil {
		tb.Fatal("no corpus:", err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("clean", e.Name()))
		}
	}
	return dirs
}

// repeatMB is docs joined by blank lines and repeated to 1 MB.
func repeatMB(docs [][]byte) []byte {
	var base []byte
	for _, d := range docs {
		base = append(base, d...)
		base = append(base, "\n\n"...)
	}
	out := make([]byte, 0, 1<<20+len(base))
	for len(out) < 1<<20 {
		out = append(out, base...)
	}
	return out[:1<<20]
}

// BenchmarkFind times Find on one core: on 1 MB of the corpus' clean
// business, runbook and finance prose (as the detectors' 1MB-prose
// benchmark), on every clean document in turn (the per-document cost, as
// the engine calls Find), and on the poisoned encoded documents (payloads
// found and decoded).
func BenchmarkFind(b *testing.B) {
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
	b.Run("prose-1MB", func(b *testing.B) {
		run(b, [][]byte{repeatMB(corpusFiles(b, "clean/business", "clean/runbooks", "clean/finance"))})
	})
	b.Run("clean-docs", func(b *testing.B) {
		run(b, corpusFiles(b, cleanDirs(b)...))
	})
	b.Run("payload-docs", func(b *testing.B) {
		run(b, corpusFiles(b, "poisoned/encoded"))
	})
}
