package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// SARIF 2.1.0, the format GitHub code scanning and other tools import.
// Only what ctxguard fills is declared here.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags     []string `json:"tags"`
	Severity string   `json:"security-severity"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
	ByteOffset  int `json:"byteOffset"`
	ByteLength  int `json:"byteLength"`
}

// level maps a severity to SARIF's levels.
func level(s ctxguard.Severity) string {
	switch s {
	case ctxguard.SeverityCritical, ctxguard.SeverityHigh:
		return "error"
	case ctxguard.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric severity (0–10) for a rule.
func securitySeverity(s ctxguard.Severity) string {
	switch s {
	case ctxguard.SeverityCritical:
		return "9.5"
	case ctxguard.SeverityHigh:
		return "8.0"
	case ctxguard.SeverityMedium:
		return "5.0"
	}
	return "2.0"
}

// SARIF writes every file's findings as one SARIF log. Files with errors
// are left out (they are reported on stderr by the caller).
func SARIF(w io.Writer, version string, rules []detectors.RuleInfo, files []File) error {
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	d := sarifDriver{Name: "ctxguard", InformationURI: "https://github.com/ctxguard/ctxguard", Version: version, Rules: []sarifRule{}}
	for _, r := range rules {
		d.Rules = append(d.Rules, sarifRule{
			ID: r.ID, Name: r.ID, ShortDescription: sarifText{r.Description},
			DefaultConfiguration: sarifRuleConfig{Level: level(r.Severity)},
			Properties:           sarifRuleProps{Tags: []string{"security", "prompt-injection", r.Detector}, Severity: securitySeverity(r.Severity)},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: d}, ColumnKind: "unicodeCodePoints", Results: []sarifResult{}}
	for _, f := range files {
		for _, x := range f.Findings {
			msg := "Possible prompt injection (" + x.Rule + "): " + x.Excerpt
			if x.Note != "" {
				msg += " — " + x.Note
			}
			run.Results = append(run.Results, sarifResult{
				RuleID: x.Rule, Level: level(x.Severity), Message: sarifText{msg},
				Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
					ArtifactLocation: sarifArtifact{URI: artifactURI(f.Path)},
					Region: sarifRegion{StartLine: x.Line, StartColumn: x.Column, EndLine: x.EndLine, EndColumn: x.EndColumn,
						ByteOffset: x.Start, ByteLength: x.End - x.Start},
				}}},
			})
		}
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// artifactURI writes a path as a relative URI reference, as code-scanning
// tools expect: forward slashes, percent-escaped.
func artifactURI(p string) string {
	p = filepath.ToSlash(p)
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
