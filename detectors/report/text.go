package report

import (
	"fmt"
	"io"
)

// Text writes one file's result for a person: a headline, then a line per
// finding with its place, severity, rule and excerpt.
func Text(w io.Writer, f File) error {
	switch {
	case f.Error != "":
		_, err := fmt.Fprintf(w, "%s: error: %s\n", f.Path, f.Error)
		return err
	case f.Skipped != "":
		_, err := fmt.Fprintf(w, "%s: skipped: %s\n", f.Path, f.Skipped)
		return err
	}
	if _, err := fmt.Fprintf(w, "%s: %s (score %.2f)\n", f.Path, f.Verdict, f.Score); err != nil {
		return err
	}
	for _, x := range f.Findings {
		note := ""
		if x.Note != "" {
			note = " [" + x.Note + "]"
		}
		if _, err := fmt.Fprintf(w, "  %d:%d %-8s %s %q%s\n", x.Line, x.Column, x.Severity, x.Rule, x.Excerpt, note); err != nil {
			return err
		}
	}
	return nil
}
