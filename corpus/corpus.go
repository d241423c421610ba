// Package corpus is ctxguard's own labeled corpus of poisoned and clean
// documents (see README.md for its layout and labels) and the harness that
// evaluates a detector on it, or on any labeled JSONL file.
package corpus

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Files holds the corpus, embedded so that `ctxguard eval` runs anywhere.
//
//go:embed README.md index.jsonl tools.txt poisoned clean
var Files embed.FS

// Doc is one labeled document.
type Doc struct {
	ID string
	// Poisoned is the label.
	Poisoned bool
	// Category is the family of a poisoned document or the category of a
	// clean one ("override", "runbooks").
	Category string
	Text     []byte
}

// Key is the document's category with its label, as reports group them:
// "poisoned/override", "clean/runbooks".
func (d Doc) Key() string {
	if d.Poisoned {
		return "poisoned/" + d.Category
	}
	return "clean/" + d.Category
}

type indexLine struct {
	Path     string `json:"path"`
	Label    string `json:"label"`
	Family   string `json:"family"`
	Category string `json:"category"`
}

// Load reads a corpus directory laid out as this one (index.jsonl naming
// each file, labels from the path).
func Load(fsys fs.FS) ([]Doc, error) {
	f, err := fsys.Open("index.jsonl")
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	var docs []Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l indexLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("corpus: index.jsonl line %d: %w", n, err)
		}
		parts := strings.Split(l.Path, "/")
		if len(parts) < 3 || (parts[0] != "poisoned" && parts[0] != "clean") {
			return nil, fmt.Errorf("corpus: index.jsonl line %d: path %q is not poisoned/<family>/<file> or clean/<category>/<file>", n, l.Path)
		}
		text, err := fs.ReadFile(fsys, l.Path)
		if err != nil {
			return nil, fmt.Errorf("corpus: index.jsonl line %d: %w", n, err)
		}
		docs = append(docs, Doc{ID: l.Path, Poisoned: parts[0] == "poisoned", Category: parts[1], Text: text})
	}
	return docs, sc.Err()
}

// Tools reads the tool names a corpus's tool-coercion documents name.
func Tools(fsys fs.FS) []string {
	b, err := fs.ReadFile(fsys, "tools.txt")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// jsonlDoc is a line of a labeled JSONL file, as the public benchmarks
// publish them.
type jsonlDoc struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Text     string `json:"text"`
}

// LoadJSONL reads labeled documents, one JSON object per line with id,
// label ("poisoned"|"clean" or "injection"|"benign"), category and text.
func LoadJSONL(r io.Reader) ([]Doc, error) {
	var docs []Doc
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var j jsonlDoc
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return nil, fmt.Errorf("corpus: line %d: %w", n, err)
		}
		var poisoned bool
		switch strings.ToLower(j.Label) {
		case "poisoned", "injection", "malicious", "attack", "1", "true":
			poisoned = true
		case "clean", "benign", "0", "false":
		default:
			return nil, fmt.Errorf("corpus: line %d: unknown label %q", n, j.Label)
		}
		cat := j.Category
		if cat == "" {
			cat = "uncategorised"
		}
		docs = append(docs, Doc{ID: j.ID, Poisoned: poisoned, Category: cat, Text: []byte(j.Text)})
	}
	return docs, sc.Err()
}

// Open loads a corpus from a path: a directory with index.jsonl, or a
// labeled .jsonl file. The empty path is the embedded corpus.
func Open(p string) ([]Doc, []string, error) {
	if p == "" {
		docs, err := Load(Files)
		return docs, Tools(Files), err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %w", err)
	}
	if st.IsDir() {
		fsys := os.DirFS(p)
		docs, err := Load(fsys)
		return docs, Tools(fsys), err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	docs, err := LoadJSONL(f)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %s: %w", path.Base(p), err)
	}
	return docs, nil, nil
}

// Prose is size bytes of the clean business, runbook and finance documents
// of docs, joined by blank lines and repeated: the large ordinary document
// that the detectors' benchmarks scan. It is nil when docs hold none.
func Prose(docs []Doc, size int) []byte {
	var base []byte
	for _, d := range docs {
		if !d.Poisoned && (d.Category == "business" || d.Category == "runbooks" || d.Category == "finance") {
			base = append(base, d.Text...)
			base = append(base, "\n\n"...)
		}
	}
	if len(base) == 0 {
		return nil
	}
	return bytes.Repeat(base, size/len(base)+1)[:size]
}
