// Package hidden detects text hidden from a human reader but read by a
// model: Unicode tag characters, zero-width characters inside words, bidi
// overrides, and prose in HTML regions a browser does not show. Phrase
// findings inside hidden regions are raised by the engine itself; this
// detector reports the hiding.
package hidden

import (
	"bytes"
	"regexp"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// Detector is the hidden-text detector.
type Detector struct{}

var _ detectors.Detector = Detector{}

// ID implements detectors.Detector.
func (Detector) ID() string { return "hidden" }

// cue is second-person or imperative language: hidden prose that speaks to
// its reader. Menus, icons and build notes in hidden regions do not.
var cue = regexp.MustCompile(`\b(?:you|your|you're|please|must|always|never|do not|don't|ignore|instead|make sure|assistant|ai|model|respond|reply|answer|summar\w+|tell|include|mention|recommend|send|forward)\b`)

// Detect implements detectors.Detector.
func (Detector) Detect(doc *detectors.Document, _ []detectors.Hit) ([]ctxguard.Finding, error) {
	var out []ctxguard.Finding
	st := doc.Stats
	// Tag characters: their only legitimate use is inside subdivision
	// flags (U+1F3F4 followed by tags), which are skipped.
	if st.TagChars > 0 {
		for _, p := range st.TagAt {
			if !inFlag(doc.Src, p) {
				out = append(out, srcFinding(doc, "hidden.tag-characters", ctxguard.SeverityHigh, p, "Unicode tag characters spell invisible text"))
				break
			}
		}
	}
	if st.ZeroWidthInWords >= 2 && len(st.ZeroWidthAt) > 0 {
		sev := ctxguard.SeverityMedium
		if st.ZeroWidthInWords >= 5 {
			sev = ctxguard.SeverityHigh
		}
		out = append(out, srcFinding(doc, "hidden.zero-width", sev, st.ZeroWidthAt[0], "zero-width characters split words"))
	}
	if st.BidiOverrides > 0 && len(st.BidiAt) > 0 {
		out = append(out, srcFinding(doc, "hidden.bidi-override", ctxguard.SeverityMedium, st.BidiAt[0], "bidi override reverses displayed text"))
	}
	for _, r := range doc.Hidden {
		if r.Reason == "unicode tag characters" || r.Reason == "script" || r.Reason == "style" {
			continue
		}
		text := doc.Norm[r.Start:r.End]
		words := len(bytes.Fields(text))
		if words < 6 || !cue.Match(text) {
			continue
		}
		sev := ctxguard.SeverityMedium
		if words < 12 {
			sev = ctxguard.SeverityLow
		}
		out = append(out, ctxguard.Finding{Detector: "hidden", Rule: "hidden.prose", Severity: sev, Start: r.Start, End: r.End, Note: "prose addressed to its reader in " + r.Reason})
	}
	return out, nil
}

// srcFinding makes a finding at a byte of Src; the engine maps findings from
// Norm, so it is expressed through the Norm offset nearest to it.
func srcFinding(doc *detectors.Document, rule string, sev ctxguard.Severity, srcPos int, note string) ctxguard.Finding {
	o, _ := doc.NormSpan(srcPos, srcPos)
	return ctxguard.Finding{Detector: "hidden", Rule: rule, Severity: sev, Start: o, End: min(o+1, len(doc.Norm)), Note: note}
}

// inFlag reports whether the tag character at p follows a black flag
// (U+1F3F4) through other tag characters: an emoji subdivision flag.
func inFlag(src []byte, p int) bool {
	flag := []byte("\U0001F3F4")
	for p >= 4 {
		if bytes.HasSuffix(src[:p], flag) {
			return true
		}
		if p >= 4 && src[p-4] == 0xF3 && src[p-3] == 0xA0 { // another tag character (U+E00xx)
			p -= 4
			continue
		}
		return false
	}
	return false
}

// RuleInfo implements detectors.Documented.
func (Detector) RuleInfo() []detectors.RuleInfo {
	return []detectors.RuleInfo{
		{ID: "hidden.tag-characters", Detector: "hidden", Severity: ctxguard.SeverityHigh, Description: "Unicode tag characters (U+E0000 block) spell text no one sees."},
		{ID: "hidden.zero-width", Detector: "hidden", Severity: ctxguard.SeverityMedium, Description: "Zero-width characters split words, hiding them from matching."},
		{ID: "hidden.bidi-override", Detector: "hidden", Severity: ctxguard.SeverityMedium, Description: "A bidi override reverses how text is displayed."},
		{ID: "hidden.prose", Detector: "hidden", Severity: ctxguard.SeverityMedium, Description: "Prose addressed to its reader in a region a browser does not show."},
	}
}
