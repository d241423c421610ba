package report

import (
	"encoding/json"
	"io"
)

type jsonFinding struct {
	Detector  string `json:"detector"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Start     int    `json:"start"`
	End       int    `json:"end"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
	Excerpt   string `json:"excerpt"`
	Note      string `json:"note,omitempty"`
}

type jsonFile struct {
	Path     string        `json:"path"`
	Verdict  string        `json:"verdict,omitempty"`
	Score    float64       `json:"score"`
	Findings []jsonFinding `json:"findings"`
	Error    string        `json:"error,omitempty"`
	Skipped  string        `json:"skipped,omitempty"`
}

// JSONWriter writes results as one JSON array of files, as they come.
type JSONWriter struct {
	w     io.Writer
	count int
}

// NewJSON starts a JSON array on w.
func NewJSON(w io.Writer) *JSONWriter { return &JSONWriter{w: w} }

// Write adds one file to the array.
func (j *JSONWriter) Write(f File) error {
	jf := jsonFile{Path: f.Path, Verdict: string(f.Verdict), Score: round(f.Score), Findings: []jsonFinding{}, Error: f.Error, Skipped: f.Skipped}
	for _, x := range f.Findings {
		jf.Findings = append(jf.Findings, jsonFinding{Detector: x.Detector, Rule: x.Rule, Severity: string(x.Severity), Start: x.Start, End: x.End,
			Line: x.Line, Column: x.Column, EndLine: x.EndLine, EndColumn: x.EndColumn, Excerpt: x.Excerpt, Note: x.Note})
	}
	b, err := json.MarshalIndent(jf, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if j.count == 0 {
		sep = "[\n  "
	}
	j.count++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

// Close ends the array.
func (j *JSONWriter) Close() error {
	end := "\n]\n"
	if j.count == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

// round keeps scores to four decimals, so that output is stable.
func round(x float64) float64 {
	return float64(int64(x*10000+0.5)) / 10000
}
