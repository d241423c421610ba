package search

import (
	"slices"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/ctxguard/ctxguard"
)

// mappingVersion names the mapping below. Change it with the mapping: an
// index of another version is rebuilt at Open.
const mappingVersion = "ctxguard-quarantine-1"

// MaxContent is how many bytes of an item's content are indexed. Content
// is attacker-controlled and can be large; words past this bound are not
// found.
const MaxContent = 256 << 10

// The field names are the ones reviewers type in queries ("server:wiki
// status:pending"), and so a contract like the JSON names of an item.
const (
	fieldContent      = "content"
	fieldURI          = "uri"
	fieldURIExact     = "uri_exact" // the whole URI as one term, for exact and prefix matches
	fieldServer       = "server"
	fieldTool         = "tool"
	fieldStatus       = "status"
	fieldDetector     = "detector"
	fieldRule         = "rule"
	fieldSeverity     = "severity"      // the highest finding's
	fieldSeverityRank = "severity_rank" // Severity.Rank of the highest finding, for "at least" ranges
	fieldScore        = "score"
	fieldCreatedAt    = "created_at"
	fieldSHA256       = "sha256"
)

// newMapping is a static mapping: only the fields above are indexed, so a
// change to the item type cannot grow the index unnoticed. Nothing is
// stored, and no field has doc values (results sort by id, which bleve
// keeps anyway): the store has the items.
func newMapping() mapping.IndexMapping {
	text := func(analyzer string) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.DocValues = false
		// Term vectors (positions) are what phrase queries need. Keyword
		// fields are one term, but a quoted value (server:"team wiki") is
		// a phrase query too, and one position per field costs little.
		f.IncludeTermVectors = true
		return f
	}
	kw := func() *mapping.FieldMapping { return text(keyword.Name) }
	num := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store, f.DocValues, f.IncludeInAll = false, false, false
		return f
	}

	uriExact := kw()
	uriExact.IncludeInAll = false // uri is there
	created := bleve.NewDateTimeFieldMapping()
	created.Store, created.DocValues, created.IncludeInAll = false, false, false

	doc := bleve.NewDocumentStaticMapping()
	// Content stays out of _all, which would hold its terms and positions
	// a second time (a third of the index): a query without a field name
	// searches both (see parse).
	content := text(standard.Name)
	content.IncludeInAll = false
	doc.AddFieldMappingsAt(fieldContent, content)
	// uri_exact is a property of its own, not a second field of uri:
	// bleve picks a query's analyzer by property, and would cut a query
	// for the whole URI into words.
	doc.AddFieldMappingsAt(fieldURI, text(standard.Name))
	doc.AddFieldMappingsAt(fieldURIExact, uriExact)
	for _, f := range []string{fieldServer, fieldTool, fieldStatus, fieldDetector, fieldRule, fieldSeverity, fieldSHA256} {
		doc.AddFieldMappingsAt(f, kw())
	}
	doc.AddFieldMappingsAt(fieldSeverityRank, num())
	doc.AddFieldMappingsAt(fieldScore, num())
	doc.AddFieldMappingsAt(fieldCreatedAt, created)

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	// _all, which a query without a field name searches, holds the
	// keyword and uri fields; not the numbers, nor uri_exact (a copy of
	// uri), nor content.
	m.DefaultAnalyzer = standard.Name
	return m
}

// document is what the index holds of an item. Empty fields are left out,
// so that no empty term is indexed.
func document(it *ctxguard.QuarantineItem) map[string]any {
	d := map[string]any{
		fieldContent:   truncate(it.Content, MaxContent),
		fieldStatus:    string(it.Status),
		fieldScore:     it.Score,
		fieldCreatedAt: it.CreatedAt,
	}
	for k, v := range map[string]string{
		fieldURI: it.URI, fieldURIExact: it.URI, fieldServer: it.Server, fieldTool: it.Tool, fieldSHA256: it.SHA256,
	} {
		if v != "" {
			d[k] = v
		}
	}
	var detectors, rules []string
	var top ctxguard.Severity
	for _, f := range it.Findings {
		detectors = append(detectors, f.Detector)
		rules = append(rules, f.Rule)
		if f.Severity.Rank() > top.Rank() {
			top = f.Severity
		}
	}
	if v := compact(detectors); len(v) > 0 {
		d[fieldDetector] = v
	}
	if v := compact(rules); len(v) > 0 {
		d[fieldRule] = v
	}
	if top != "" {
		d[fieldSeverity] = string(top)
	}
	d[fieldSeverityRank] = float64(top.Rank())
	return d
}

// compact sorts and deduplicates, dropping empty strings: an item with a
// hundred findings of one rule is indexed with one term.
func compact(s []string) []string {
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) > 0 && s[0] == "" {
		s = s[1:]
	}
	return s
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
