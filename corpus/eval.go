package corpus

import (
	"runtime"
	"sort"
	"sync"

	"github.com/ctxguard/ctxguard"
)

// Outcome is a detector's judgement of one document.
type Outcome struct {
	Doc      Doc
	Verdict  ctxguard.Verdict
	Score    float64
	Findings []ctxguard.Finding
	Err      error
	// Cost is what judging the document took of an LLM, when one was
	// asked; nil otherwise.
	Cost *Cost
}

// Cost is what an LLM was asked, as calls and tokens. A judgement that came
// from a cache costs what it cost when it was made: the cost of a column of
// an evaluation is what that configuration costs on its own.
type Cost struct {
	// Asked counts the documents the LLM was asked about, Failed those it
	// gave no judgement for.
	Asked  int `json:"asked"`
	Failed int `json:"failed"`
	// Calls are the requests the judgements took (a document cut into
	// chunks takes one per chunk; retries are not counted here), Tokens
	// the prompt and completion tokens the endpoint reported.
	Calls  int `json:"calls"`
	Tokens int `json:"tokens"`
}

func (c *Cost) add(o *Cost) {
	c.Asked += o.Asked
	c.Failed += o.Failed
	c.Calls += o.Calls
	c.Tokens += o.Tokens
}

// Correct reports whether the verdict matches the label.
func (o Outcome) Correct() bool {
	return o.Doc.Poisoned == (o.Verdict == ctxguard.VerdictSuspicious)
}

// Metrics are the confusion counts of a set of documents and what follows
// from them. A rate with no denominator is reported as -1.
type Metrics struct {
	N, TP, FP, TN, FN, Errors  int
	Precision, Recall, F1, FPR float64
}

func (m *Metrics) add(o Outcome) {
	m.N++
	if o.Err != nil {
		m.Errors++
	}
	suspicious := o.Verdict == ctxguard.VerdictSuspicious
	switch {
	case o.Doc.Poisoned && suspicious:
		m.TP++
	case o.Doc.Poisoned:
		m.FN++
	case suspicious:
		m.FP++
	default:
		m.TN++
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return -1
	}
	return float64(a) / float64(b)
}

func (m *Metrics) finish() {
	m.Precision = ratio(m.TP, m.TP+m.FP)
	m.Recall = ratio(m.TP, m.TP+m.FN)
	m.FPR = ratio(m.FP, m.FP+m.TN)
	m.F1 = -1
	if m.Precision >= 0 && m.Recall >= 0 && m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
}

// Report is an evaluation: overall and per category (Doc.Key).
type Report struct {
	Overall    Metrics
	ByCategory map[string]*Metrics
	Outcomes   []Outcome
	// Cost sums the outcomes' LLM costs.
	Cost Cost
}

// Categories returns the report's category keys, poisoned first, sorted.
func (r *Report) Categories() []string {
	keys := make([]string, 0, len(r.ByCategory))
	for k := range r.ByCategory {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := keys[i][0] == 'p', keys[j][0] == 'p'
		if pi != pj {
			return pi
		}
		return keys[i] < keys[j]
	})
	return keys
}

// Judge scores one document.
type Judge func(Doc) Outcome

// Evaluate judges every document with workers goroutines (the number of
// CPUs when 0) and tallies the results.
func Evaluate(docs []Doc, workers int, judge Judge) *Report {
	return EvaluateEach(docs, workers, func(_ int, d Doc) Outcome { return judge(d) })
}

// EvaluateEach is Evaluate with a judge that also gets the document's
// index in docs, to look up what an earlier evaluation said of it (the
// cascade starts from the detectors' outcome).
func EvaluateEach(docs []Doc, workers int, judge func(int, Doc) Outcome) *Report {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	outs := make([]Outcome, len(docs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outs[i] = judge(i, docs[i])
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	r := &Report{ByCategory: map[string]*Metrics{}, Outcomes: outs}
	for _, o := range outs {
		if o.Cost != nil {
			r.Cost.add(o.Cost)
		}
		r.Overall.add(o)
		m := r.ByCategory[o.Doc.Key()]
		if m == nil {
			m = &Metrics{}
			r.ByCategory[o.Doc.Key()] = m
		}
		m.add(o)
	}
	r.Overall.finish()
	for _, m := range r.ByCategory {
		m.finish()
	}
	return r
}
