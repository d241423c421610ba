package batch

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard/detectors/report"
)

// MaxFile bounds the size of one scanned file.
const MaxFile = 64 << 20

// Files scans the files named by paths (directories are walked; "-" is
// standard input) and calls emit with each result in path order. Binary and
// oversize files are reported as skipped, unreadable ones as errors: no
// file is passed over in silence. Directories named .git are not entered.
func Files(paths []string, stdin io.Reader, workers int, scan Scanner, emit func(report.File) error) error {
	var list []string
	var walkErrs []report.File
	for _, p := range paths {
		if p == "-" {
			list = append(list, p)
			continue
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				walkErrs = append(walkErrs, report.File{Path: path, Error: err.Error()})
				return nil
			}
			if d.IsDir() {
				if d.Name() == ".git" && path != p {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				list = append(list, path)
			}
			return nil
		})
		if err != nil {
			walkErrs = append(walkErrs, report.File{Path: p, Error: err.Error()})
		}
	}
	for _, f := range walkErrs {
		if err := emit(f); err != nil {
			return err
		}
	}
	i := 0
	next := func() (string, bool) {
		if i == len(list) {
			return "", false
		}
		i++
		return list[i-1], true
	}
	work := func(path string) report.File {
		content, err := read(path, stdin)
		if err != nil {
			return report.File{Path: path, Error: err.Error()}
		}
		if why := skip(content); why != "" {
			return report.File{Path: path, Skipped: why}
		}
		res, err := scan(content)
		if err != nil {
			return report.File{Path: path, Error: err.Error()}
		}
		return report.NewFile(path, content, res)
	}
	return Run(workers, next, work, emit)
}

func read(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("larger than %d bytes", MaxFile)
	}
	return b, nil
}

// skip says why content is not text to scan, or "".
func skip(b []byte) string {
	head := b[:min(len(b), 8192)]
	nul := 0
	for _, c := range head {
		if c == 0 {
			nul++
		}
	}
	if nul > 0 || (!utf8.Valid(head) && !utf8.Valid(head[:max(0, len(head)-3)])) {
		return "binary content"
	}
	return ""
}
