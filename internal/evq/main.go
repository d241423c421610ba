// Command evq is a scratch evaluation loop for tuning rules (not shipped).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ctxguard/ctxguard/corpus"
	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
)

func main() {
	path := "corpus"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	var docs []corpus.Doc
	var tools []string
	var err error
	if st, e := os.Stat(path); e == nil && st.IsDir() {
		docs, err = corpus.Load(os.DirFS(path))
		tools = corpus.Tools(os.DirFS(path))
	} else {
		docs, tools, err = corpus.Open(path)
	}
	if err != nil {
		fmt.Println("load:", err)
	}
	e, err := defaults.Engine(detectors.Config{}, defaults.Options{})
	if err != nil {
		panic(err)
	}
	r := corpus.Evaluate(docs, 0, func(d corpus.Doc) corpus.Outcome {
		res, err := e.Scan(d.Text, tools)
		return corpus.Outcome{Doc: d, Verdict: res.Verdict, Score: res.Score, Findings: res.Findings, Err: err}
	})
	for _, k := range r.Categories() {
		m := r.ByCategory[k]
		fmt.Printf("%-34s n=%3d TP=%3d FN=%3d FP=%3d TN=%3d recall=%.2f fpr=%.2f\n", k, m.N, m.TP, m.FN, m.FP, m.TN, m.Recall, m.FPR)
	}
	o := r.Overall
	fmt.Printf("OVERALL n=%d recall=%.3f fpr=%.3f precision=%.3f f1=%.3f\n", o.N, o.Recall, o.FPR, o.Precision, o.F1)
	sort.Slice(r.Outcomes, func(i, j int) bool { return r.Outcomes[i].Doc.ID < r.Outcomes[j].Doc.ID })
	if len(os.Args) > 2 && os.Args[2] == "-q" {
		return
	}
	for _, oc := range r.Outcomes {
		if oc.Correct() {
			continue
		}
		var fs []string
		for _, f := range oc.Findings {
			fs = append(fs, fmt.Sprintf("%s(%s)%q", f.Rule, f.Severity, trunc(string(oc.Doc.Text[f.Start:f.End]))))
		}
		fmt.Printf("MISS %s score=%.2f %s\n", oc.Doc.ID, oc.Score, strings.Join(fs, " "))
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}
