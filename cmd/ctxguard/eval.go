package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/corpus"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/llm"
)

type evalCmd struct {
	detectorFlags
	llmFlags
	JSON    bool   `name:"json" help:"Print the report as JSON."`
	Misses  bool   `name:"misses" help:"List the documents the detectors (with an LLM: the cascade) got wrong."`
	Workers int    `name:"workers" placeholder:"N" help:"Documents scanned in parallel (default: the number of CPUs; with an LLM, at least twice its concurrency)."`
	Depth   int    `name:"group-depth" default:"2" placeholder:"N" help:"Group categories by their first N path segments (0: not at all)."`
	Path    string `arg:"" optional:"" name:"path" help:"A corpus directory (with index.jsonl) or a labeled JSONL file ({\"id\",\"label\",\"category\",\"text\"}); default: the corpus built into ctxguard."`
}

func (c *evalCmd) Run(ctx context.Context, g *Globals) error {
	docs, tools, err := corpus.Open(c.Path)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("eval: no documents in %s", c.Path)
	}
	e, err := c.engine(g)
	if err != nil {
		return err
	}
	cas, err := c.cascade(g, c.threshold(g))
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if c.Depth > 0 {
		for i := range docs {
			if parts := strings.Split(docs[i].Category, "/"); len(parts) > c.Depth {
				docs[i].Category = strings.Join(parts[:c.Depth], "/")
			}
		}
	}
	r := corpus.Evaluate(docs, c.Workers, func(d corpus.Doc) corpus.Outcome {
		res, err := e.Scan(d.Text, tools)
		return corpus.Outcome{Doc: d, Verdict: res.Verdict, Score: res.Score, Findings: res.Findings, Err: err}
	})
	if cas != nil {
		return c.sideBySide(ctx, g, docs, r, cas)
	}
	if c.JSON {
		return printJSON(g, evalJSON{Overall: r.Overall, Categories: categories(r)})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tDOCS\tTP\tFN\tFP\tTN\tPRECISION\tRECALL\tF1\tFPR")
	line := func(name string, m *corpus.Metrics) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", name, m.N, m.TP, m.FN, m.FP, m.TN, rate(m.Precision), rate(m.Recall), rate(m.F1), rate(m.FPR))
	}
	for _, k := range r.Categories() {
		line(k, r.ByCategory[k])
	}
	line("OVERALL", &r.Overall)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Overall.Errors > 0 {
		fmt.Fprintf(g.stdout, "\n%d documents could not be scanned.\n", r.Overall.Errors)
	}
	if c.Misses {
		printMisses(g, "Misclassified:", r)
	}
	return nil
}

// evalJSON is eval's JSON report: the detectors' figures as always, and
// with an LLM the LLM alone and the cascade beside them.
type evalJSON struct {
	Overall    corpus.Metrics `json:"overall"`
	Categories []categoryRow  `json:"categories"`
	LLM        *evalColumn    `json:"llm,omitempty"`
	Cascade    *evalColumn    `json:"cascade,omitempty"`
	// Usage is what this run asked of the endpoint, retries and cache
	// hits included.
	Usage *llm.Counters `json:"usage,omitempty"`
}

type categoryRow struct {
	Category string `json:"category"`
	corpus.Metrics
}

type evalColumn struct {
	Model      string         `json:"model"`
	GreyBand   []float64      `json:"grey_band,omitempty"`
	Always     bool           `json:"always,omitempty"`
	Overall    corpus.Metrics `json:"overall"`
	Categories []categoryRow  `json:"categories"`
	Cost       corpus.Cost    `json:"cost"`
	// Share is the part of the documents the LLM was asked about.
	Share float64 `json:"share"`
}

func categories(r *corpus.Report) []categoryRow {
	var out []categoryRow
	for _, k := range r.Categories() {
		out = append(out, categoryRow{k, *r.ByCategory[k]})
	}
	return out
}

// printJSON writes v as indented JSON on stdout.
func printJSON(g *Globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sideBySide evaluates the LLM alone and the cascade on the documents, and
// prints them beside the detectors' figures (heur). The cascade runs first,
// so that its calls are the ones the grey band makes; the LLM alone then
// asks about the rest (what the cascade asked comes from the cache, costed
// at what it cost).
func (c *evalCmd) sideBySide(ctx context.Context, g *Globals, docs []corpus.Doc, heur *corpus.Report, cas *llm.Cascade) error {
	workers := c.Workers
	if workers <= 0 {
		workers = max(runtime.GOMAXPROCS(0), 2*max(g.cfg.LLM.Concurrency, llm.DefaultConcurrency))
	}
	casc := corpus.EvaluateEach(docs, workers, func(i int, d corpus.Doc) corpus.Outcome {
		h := heur.Outcomes[i]
		out, j := cas.Judge(ctx, d.Text, detectors.Result{Score: h.Score, Verdict: h.Verdict, Findings: h.Findings}, "")
		o := corpus.Outcome{Doc: d, Verdict: out.Verdict, Score: out.Score, Findings: out.Findings, Err: h.Err}
		if j != nil {
			o.Cost = &corpus.Cost{Asked: 1, Calls: j.Calls, Tokens: j.Tokens}
			if j.Error != "" {
				o.Cost.Failed = 1
			}
		}
		return o
	})
	alone := corpus.EvaluateEach(docs, workers, func(_ int, d corpus.Doc) corpus.Outcome {
		o := corpus.Outcome{Doc: d, Verdict: ctxguard.VerdictClean, Cost: &corpus.Cost{Asked: 1}}
		j, err := cas.Classifier.Classify(ctx, d.Text)
		if err != nil {
			o.Err, o.Cost.Failed = err, 1
			return o
		}
		o.Cost.Calls, o.Cost.Tokens = j.Chunks, j.PromptTokens+j.CompletionTokens
		o.Score = j.Injection()
		if j.Label == llm.LabelInjection {
			o.Verdict, o.Findings = ctxguard.VerdictSuspicious, []ctxguard.Finding{llm.Finding(j)}
		}
		return o
	})
	usage := cas.Classifier.Stats()
	lo, hi := cas.Band()
	n := float64(len(docs))
	model := cas.Classifier.Model()
	if c.JSON {
		return printJSON(g, evalJSON{Overall: heur.Overall, Categories: categories(heur),
			LLM: &evalColumn{Model: model, Overall: alone.Overall, Categories: categories(alone), Cost: alone.Cost, Share: float64(alone.Cost.Asked) / n},
			Cascade: &evalColumn{Model: model, GreyBand: []float64{lo, hi}, Always: cas.Always, Overall: casc.Overall, Categories: categories(casc),
				Cost: casc.Cost, Share: float64(casc.Cost.Asked) / n},
			Usage: &usage})
	}
	band := fmt.Sprintf("the LLM asked when the detectors' score is in [%.2f, %.2f)", lo, hi)
	if cas.Always {
		band = "the LLM asked about every document"
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\t\theuristics\t\t\t\tllm\t\t\t\tcascade\t\t\t")
	fmt.Fprintln(tw, "CATEGORY\tDOCS\tPRECISION\tRECALL\tF1\tFPR\tPRECISION\tRECALL\tF1\tFPR\tPRECISION\tRECALL\tF1\tFPR")
	line := func(name string, ms ...*corpus.Metrics) {
		fmt.Fprintf(tw, "%s\t%d", name, ms[0].N)
		for _, m := range ms {
			fmt.Fprintf(tw, "\t%s\t%s\t%s\t%s", rate(m.Precision), rate(m.Recall), rate(m.F1), rate(m.FPR))
		}
		fmt.Fprintln(tw)
	}
	for _, k := range heur.Categories() {
		line(k, heur.ByCategory[k], alone.ByCategory[k], casc.ByCategory[k])
	}
	line("OVERALL", &heur.Overall, &alone.Overall, &casc.Overall)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "MODE\tASKED\tSHARE\tCALLS\tTOKENS\tFAILED")
	cost := func(name string, k corpus.Cost) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%d\t%d\t%d\n", name, k.Asked, 100*float64(k.Asked)/n, k.Calls, k.Tokens, k.Failed)
	}
	cost("heuristics", corpus.Cost{})
	cost("llm", alone.Cost)
	cost("cascade", casc.Cost)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nllm: %s alone on every document; cascade: the detectors, %s.\n", model, band)
	fmt.Fprintf(g.stdout, "The cascade asked the LLM about %d of %d documents (%.1f%%).\n", casc.Cost.Asked, len(docs), 100*float64(casc.Cost.Asked)/n)
	fmt.Fprintf(g.stdout, "This run: %d calls to %s (%d retries), %d prompt + %d completion tokens, %d judgements from the cache, %d failed.\n",
		usage.Calls, model, usage.Retries, usage.PromptTokens, usage.CompletionTokens, usage.CacheHits, usage.Errors)
	if heur.Overall.Errors > 0 {
		fmt.Fprintf(g.stdout, "%d documents could not be scanned.\n", heur.Overall.Errors)
	}
	if c.Misses {
		printMisses(g, "Misclassified by the cascade:", casc)
	}
	return nil
}

func printMisses(g *Globals, title string, r *corpus.Report) {
	fmt.Fprintln(g.stdout, "\n"+title)
	outs := r.Outcomes
	sort.Slice(outs, func(i, j int) bool { return outs[i].Doc.ID < outs[j].Doc.ID })
	for _, o := range outs {
		if o.Correct() {
			continue
		}
		what := "missed (false negative)"
		if !o.Doc.Poisoned {
			what = "flagged (false positive)"
		}
		fmt.Fprintf(g.stdout, "  %s  score %.2f  %s\n", o.Doc.ID, o.Score, what)
		for _, f := range o.Findings {
			fmt.Fprintf(g.stdout, "      %s %s %q\n", f.Severity, f.Rule, excerptOf(o.Doc.Text, f.Start, f.End))
		}
	}
}

func rate(x float64) string {
	if x < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}

func excerptOf(b []byte, s, e int) string {
	if e-s > 80 {
		e = s + 80
	}
	return sanitizeLine(string(b[s:e]))
}
