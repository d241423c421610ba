package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ctxguard/ctxguard/corpus"
)

type evalCmd struct {
	detectorFlags
	JSON    bool   `name:"json" help:"Print the report as JSON."`
	Misses  bool   `name:"misses" help:"List the documents the detectors got wrong."`
	Workers int    `name:"workers" placeholder:"N" help:"Documents scanned in parallel (default: the number of CPUs)."`
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
	if c.JSON {
		type row struct {
			Category string `json:"category"`
			corpus.Metrics
		}
		out := struct {
			Overall    corpus.Metrics `json:"overall"`
			Categories []row          `json:"categories"`
		}{Overall: r.Overall}
		for _, k := range r.Categories() {
			out.Categories = append(out.Categories, row{k, *r.ByCategory[k]})
		}
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
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
		fmt.Fprintln(g.stdout, "\nMisclassified:")
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
	return nil
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
