package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/detectors"
)

// MaxLine bounds one JSONL input line.
const MaxLine = 64 << 20

// Scanner scores one text.
type Scanner func(text []byte) (detectors.Result, error)

// JSONLStats counts what a JSONL run did.
type JSONLStats struct {
	Lines, Suspicious, Errors int
}

type jsonlIn struct {
	ID   json.RawMessage `json:"id"`
	Text *string         `json:"text"`
}

type jsonlFinding struct {
	Detector string            `json:"detector"`
	Rule     string            `json:"rule"`
	Start    int               `json:"start"`
	End      int               `json:"end"`
	Severity ctxguard.Severity `json:"severity"`
}

// jsonlOut is one output line: a result, or an error.
type jsonlOut struct {
	ID       json.RawMessage
	Verdict  ctxguard.Verdict
	Score    float64
	Findings []jsonlFinding
	Error    string
}

type jsonlResult struct {
	ID       json.RawMessage  `json:"id"`
	Verdict  ctxguard.Verdict `json:"verdict"`
	Score    float64          `json:"score"`
	Findings []jsonlFinding   `json:"findings"`
}

type jsonlError struct {
	ID    json.RawMessage `json:"id"`
	Error string          `json:"error"`
}

// MarshalJSON writes the line in the contract's shape.
func (o jsonlOut) MarshalJSON() ([]byte, error) {
	if o.Error != "" {
		return json.Marshal(jsonlError{ID: o.ID, Error: o.Error})
	}
	return json.Marshal(jsonlResult{ID: o.ID, Verdict: o.Verdict, Score: float64(int64(o.Score*10000+0.5)) / 10000, Findings: o.Findings})
}

type line struct {
	n    int
	data []byte
	err  error
}

// JSONL scores every line of r, {"id": …, "text": …}, and writes one line
// per input line (blank lines aside) to w, in the same order: {"id", "verdict", "score",
// "findings": [{"detector", "rule", "start", "end", "severity"}]}, with
// start and end byte offsets in the text's UTF-8. A line that cannot be
// read gets {"id": …, "error": "…"} (id null when unknown) and counts as an
// error; the run goes on.
func JSONL(r io.Reader, w io.Writer, workers int, scan Scanner) (JSONLStats, error) {
	var st JSONLStats
	br := bufio.NewReaderSize(r, 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	n := 0
	var readErr error
	next := func() (line, bool) {
		if readErr != nil {
			return line{}, false
		}
		n++
		data, err := readLine(br)
		for err == nil && len(bytes.TrimSpace(data)) == 0 {
			// Blank lines are not documents: no output for them.
			n++
			data, err = readLine(br)
		}
		if err == io.EOF && len(data) == 0 {
			readErr = err
			return line{}, false
		}
		if err != nil && err != io.EOF && !errors.Is(err, errTooLong) {
			readErr = err
			return line{}, false
		}
		if err == io.EOF {
			readErr = err
			err = nil
		}
		return line{n: n, data: data, err: err}, true
	}
	work := func(l line) jsonlOut {
		if l.err != nil {
			return jsonlOut{ID: json.RawMessage("null"), Error: fmt.Sprintf("line %d: %v", l.n, l.err)}
		}
		var in jsonlIn
		if err := json.Unmarshal(l.data, &in); err != nil {
			return jsonlOut{ID: json.RawMessage("null"), Error: fmt.Sprintf("line %d: not a JSON object: %v", l.n, err)}
		}
		id := in.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		if in.Text == nil {
			return jsonlOut{ID: id, Error: fmt.Sprintf("line %d: no \"text\" string", l.n)}
		}
		res, err := scan([]byte(*in.Text))
		if err != nil {
			return jsonlOut{ID: id, Error: fmt.Sprintf("line %d: %v", l.n, err)}
		}
		out := jsonlOut{ID: id, Verdict: res.Verdict, Score: res.Score, Findings: []jsonlFinding{}}
		for _, f := range res.Findings {
			out.Findings = append(out.Findings, jsonlFinding{Detector: f.Detector, Rule: f.Rule, Start: f.Start, End: f.End, Severity: f.Severity})
		}
		return out
	}
	emit := func(o jsonlOut) error {
		st.Lines++
		switch {
		case o.Error != "":
			st.Errors++
		case o.Verdict == ctxguard.VerdictSuspicious:
			st.Suspicious++
		}
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		bw.Write(b)
		return bw.WriteByte('\n')
	}
	err := Run(workers, next, work, emit)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil && readErr != nil && readErr != io.EOF {
		err = readErr
	}
	return st, err
}

var errTooLong = fmt.Errorf("line longer than %d bytes", MaxLine)

// readLine reads one line without its newline (and a CR before it). A
// line over MaxLine is consumed and reported as errTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(out)+len(chunk) > MaxLine+1 {
				tooLong, out = true, nil
			} else {
				out = append(out, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			if err == io.EOF {
				return nil, errTooLong
			}
			return nil, errTooLong
		}
		out = bytes.TrimSuffix(bytes.TrimSuffix(out, []byte("\n")), []byte("\r"))
		if err != nil {
			return out, err
		}
		return out, nil
	}
}
