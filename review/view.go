package review

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
)

// Summary is an item as the queue's listing and the live updates show it:
// no content, nothing a listing does not need.
type Summary struct {
	ID        string                    `json:"id"`
	Status    ctxguard.QuarantineStatus `json:"status"`
	Server    string                    `json:"server"`
	URI       string                    `json:"uri,omitempty"`
	Tool      string                    `json:"tool,omitempty"`
	Score     float64                   `json:"score"`
	Severity  ctxguard.Severity         `json:"severity,omitempty"`
	Detectors []string                  `json:"detectors"`
	CreatedAt time.Time                 `json:"created_at"`
	Reasons   []string                  `json:"reasons"`
}

func summarize(it *ctxguard.QuarantineItem) Summary {
	s := Summary{
		ID: it.ID, Status: it.Status, Server: it.Server, URI: it.URI, Tool: it.Tool,
		Score: it.Score, Severity: severityOf(it), Detectors: []string{}, CreatedAt: it.CreatedAt,
		Reasons: it.Reasons,
	}
	for _, f := range it.Findings {
		if !slices.Contains(s.Detectors, f.Detector) {
			s.Detectors = append(s.Detectors, f.Detector)
		}
	}
	slices.Sort(s.Detectors)
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	return s
}

// severityOf is the strongest severity of the item's findings.
func severityOf(it *ctxguard.QuarantineItem) ctxguard.Severity {
	var best ctxguard.Severity
	for _, f := range it.Findings {
		if f.Severity.Rank() > best.Rank() {
			best = f.Severity
		}
	}
	return best
}

// Highlight is a finding's span in the content as a JavaScript string
// sees it: UTF-16 code units, from Start to End.
type Highlight struct {
	// Finding is the finding's index in the item's findings.
	Finding int `json:"finding"`
	Start   int `json:"start"`
	End     int `json:"end"`
}

// highlights converts the findings' byte spans in content to UTF-16
// offsets in the string the browser decodes from the JSON. A span that
// starts or ends inside a character is widened to the whole character;
// one outside the content is clipped. encoding/json turns each invalid
// byte into one U+FFFD, which is one code unit, as counted here.
func highlights(content string, fs []ctxguard.Finding) []Highlight {
	out := []Highlight{}
	if len(fs) == 0 {
		return out
	}
	// u16[i] is the UTF-16 offset of the character that byte i belongs
	// to; u16[len] is the length of the whole string.
	u16 := make([]int, len(content)+1)
	n := 0
	for i := 0; i < len(content); {
		r, size := utf8.DecodeRuneInString(content[i:])
		for j := range size {
			u16[i+j] = n
		}
		if r >= 0x10000 && size > 1 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	u16[len(content)] = n
	// end maps an exclusive byte end to the offset after its character.
	end := func(b int) int {
		if b <= 0 {
			return 0
		}
		start := u16[b-1]
		for k := b; k <= len(content); k++ {
			if k == len(content) || u16[k] != start {
				return u16[k]
			}
		}
		return n
	}
	for i, f := range fs {
		s, e := min(max(f.Start, 0), len(content)), min(max(f.End, 0), len(content))
		if e <= s {
			continue
		}
		out = append(out, Highlight{Finding: i, Start: u16[s], End: end(e)})
	}
	return out
}

// DiffRow is one row of a side-by-side diff: the signed line on the left,
// the served one on the right.
type DiffRow struct {
	// Kind is "hunk" (a hunk header; Left holds it), "same", "change",
	// "del" (left only), "add" (right only) or "note" (such as "\ No
	// newline at end of file").
	Kind   string `json:"kind"`
	LeftN  int    `json:"left_n,omitempty"`
	Left   string `json:"left"`
	RightN int    `json:"right_n,omitempty"`
	Right  string `json:"right"`
}

// sideBySide lays a unified diff out in two columns: each run of removed
// lines is paired with the run of added lines that follows it.
func sideBySide(diff string) []DiffRow {
	rows := []DiffRow{}
	if diff == "" {
		return rows
	}
	var dels, adds []string
	ln, rn := 0, 0
	flush := func() {
		for i := range max(len(dels), len(adds)) {
			row := DiffRow{Kind: "change"}
			if i < len(dels) {
				ln++
				row.LeftN, row.Left = ln, dels[i]
			} else {
				row.Kind = "add"
			}
			if i < len(adds) {
				rn++
				row.RightN, row.Right = rn, adds[i]
			} else {
				row.Kind = "del"
			}
			rows = append(rows, row)
		}
		dels, adds = dels[:0], adds[:0]
	}
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	for i, l := range lines {
		switch {
		case i < 2 && (strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ")):
			// File labels.
		case strings.HasPrefix(l, "@@"):
			flush()
			ln, rn = hunkStarts(l)
			rows = append(rows, DiffRow{Kind: "hunk", Left: l})
		case strings.HasPrefix(l, "-"):
			if len(adds) > 0 {
				flush()
			}
			dels = append(dels, l[1:])
		case strings.HasPrefix(l, "+"):
			adds = append(adds, l[1:])
		case strings.HasPrefix(l, "\\"):
			flush()
			rows = append(rows, DiffRow{Kind: "note", Left: l})
		default:
			flush()
			ln++
			rn++
			rows = append(rows, DiffRow{Kind: "same", LeftN: ln, Left: strings.TrimPrefix(l, " "), RightN: rn, Right: strings.TrimPrefix(l, " ")})
		}
	}
	flush()
	return rows
}

// hunkStarts reads "@@ -a,b +c,d @@" and returns a-1 and c-1: the line
// numbers before the hunk's first lines.
func hunkStarts(h string) (int, int) {
	f := strings.Fields(h)
	num := func(s, sign string) int {
		s, ok := strings.CutPrefix(s, sign)
		if !ok {
			return 0
		}
		s, _, _ = strings.Cut(s, ",")
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0
		}
		return n - 1
	}
	if len(f) < 3 {
		return 0, 0
	}
	return num(f[1], "-"), num(f[2], "+")
}
