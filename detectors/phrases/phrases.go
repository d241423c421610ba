// Package phrases holds the detector families whose rules are phrases:
// instruction override (in many languages), fake role and chat-template
// markers, credential solicitation, prompt-leak requests, jailbreak
// framing, delayed and conditional triggers, and instructions addressed to
// the reading model. Each family is one embedded TOML file in rules/; its
// detector is a detectors.PhraseDetector.
package phrases

import (
	"embed"
	"fmt"
	"path"

	"github.com/ctxguard/ctxguard/detectors"
)

//go:embed rules/*.toml
var files embed.FS

// Families lists the rule files in the order their detectors run.
var Families = []string{"override", "markers", "secrets", "leak", "jailbreak", "trigger", "addressed"}

// RuleSet returns a family's built-in rules.
func RuleSet(family string) (*detectors.RuleSet, error) {
	name := path.Join("rules", family+".toml")
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("phrases: no family %q", family)
	}
	return detectors.ParseRules(name, b)
}

// Detectors returns the phrase detectors, with the user's rule sets merged
// into the families they name (user may be nil).
func Detectors(user map[string]*detectors.RuleSet) ([]detectors.Detector, error) {
	var out []detectors.Detector
	for _, f := range Families {
		rs, err := RuleSet(f)
		if err != nil {
			return nil, err
		}
		if u := user[f]; u != nil {
			rs = rs.Merge(u)
		}
		d, err := detectors.NewPhraseDetector(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
