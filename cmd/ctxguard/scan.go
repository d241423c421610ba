package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/batch"
	"github.com/ctxguard/ctxguard/detectors/llm"
	"github.com/ctxguard/ctxguard/detectors/report"
)

type scanCmd struct {
	detectorFlags
	llmFlags
	Format  string   `name:"format" default:"text" enum:"text,json,sarif" help:"Output format: ${enum}."`
	JSONL   string   `name:"jsonl" placeholder:"FILE" help:"Score each line of FILE (- for stdin), {\"id\":…,\"text\":…}; print one JSON line per input, in order."`
	Workers int      `name:"workers" placeholder:"N" help:"Documents scanned in parallel (default: the number of CPUs)."`
	Tools   []string `name:"tools" sep:"," placeholder:"NAME,…" help:"Tool names the documents might tell an assistant to call (default: a list of common ones)."`
	Paths   []string `arg:"" optional:"" name:"path" help:"Files or directories to scan, - for standard input."`
}

// Exit codes of scan, per the contract.
const (
	scanClean      = 0
	scanSuspicious = 1
	scanError      = 2
)

func (c *scanCmd) Run(ctx context.Context, g *Globals) error {
	if (c.JSONL == "") == (len(c.Paths) == 0) {
		return exitCode{scanError, "scan: give files or directories to scan, or --jsonl FILE (not both)"}
	}
	e, err := c.engine(g)
	if err != nil {
		return exitCode{scanError, "scan: " + err.Error()}
	}
	cas, err := c.cascade(g, c.threshold(g))
	if err != nil {
		return exitCode{scanError, "scan: " + err.Error()}
	}
	var lf llmFailures
	scan := func(b []byte) (detectors.Result, error) {
		res, err := e.Scan(b, c.Tools)
		if err != nil || cas == nil {
			return res, err
		}
		out, j := cas.Judge(ctx, b, res, "")
		lf.note(j)
		return out, nil
	}
	if cas != nil {
		defer lf.report(g, cas)
	}
	if c.JSONL != "" {
		return c.jsonl(g, scan)
	}

	out := bufio.NewWriter(g.stdout)
	defer out.Flush()
	suspicious, failed := false, false
	var all []report.File
	var jw *report.JSONWriter
	if c.Format == "json" {
		jw = report.NewJSON(out)
	}
	err = batch.Files(c.Paths, g.stdin, c.Workers, scan, func(f report.File) error {
		suspicious = suspicious || f.Verdict == ctxguard.VerdictSuspicious
		if f.Error != "" {
			failed = true
			fmt.Fprintf(g.stderr, "ctxguard: scan: %s: %s\n", f.Path, f.Error)
		}
		switch c.Format {
		case "json":
			return jw.Write(f)
		case "sarif":
			all = append(all, f)
			return nil
		}
		return report.Text(out, f)
	})
	if err == nil && jw != nil {
		err = jw.Close()
	}
	if err == nil && c.Format == "sarif" {
		rules := e.Rules()
		if cas != nil {
			rules = append(rules, llm.RuleInfo())
		}
		err = report.SARIF(out, version, rules, all)
	}
	if err == nil {
		err = out.Flush()
	}
	switch {
	case err != nil:
		return exitCode{scanError, "scan: " + err.Error()}
	case failed:
		return exitCode{scanError, ""}
	case suspicious:
		return exitCode{scanSuspicious, ""}
	}
	return nil
}

func (c *scanCmd) jsonl(g *Globals, scan batch.Scanner) error {
	in := g.stdin
	if c.JSONL != "-" {
		f, err := os.Open(c.JSONL)
		if err != nil {
			return exitCode{scanError, "scan: " + err.Error()}
		}
		defer f.Close()
		in = f
	}
	st, err := batch.JSONL(in, g.stdout, c.Workers, scan)
	switch {
	case err != nil && !errors.Is(err, os.ErrClosed):
		return exitCode{scanError, "scan: " + err.Error()}
	case st.Errors > 0:
		return exitCode{scanError, fmt.Sprintf("scan: %d of %d lines could not be scanned (see their \"error\")", st.Errors, st.Lines)}
	case st.Suspicious > 0:
		return exitCode{scanSuspicious, ""}
	}
	return nil
}

// llmFailures counts the documents the LLM gave no judgement for, to say so
// once at the end: the output lines keep the contract's shape.
type llmFailures struct {
	mu    sync.Mutex
	n     int
	first string
}

func (f *llmFailures) note(j *ctxguard.LLMJudgement) {
	if j == nil || j.Error == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.first = j.Error
	}
	f.n++
}

// report writes what the LLM cost and, when it failed, what that meant, to
// stderr.
func (f *llmFailures) report(g *Globals, cas *llm.Cascade) {
	st, cs := cas.Classifier.Stats(), cas.Stats()
	if g.LogLevel == "debug" || g.LogLevel == "info" {
		fmt.Fprintf(g.stderr, "ctxguard: llm: %d of %d documents asked (%d from the cache), %d calls (%d retries), %d prompt + %d completion tokens\n",
			cs.Asked, cs.Considered, st.CacheHits, st.Calls, st.Retries, st.PromptTokens, st.CompletionTokens)
	}
	if f.n == 0 {
		return
	}
	stance := "their detectors' verdict stands (fail open)"
	if cas.Fail == llm.FailClosed {
		stance = "they count as suspicious (fail closed)"
	}
	fmt.Fprintf(g.stderr, "ctxguard: scan: the LLM gave no judgement for %d document(s); %s. First error: %s\n", f.n, stance, f.first)
}
