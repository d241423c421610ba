package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Label is the model's classification of a document.
type Label string

// The labels of the answer's schema.
const (
	LabelInjection Label = "injection"
	LabelClean     Label = "clean"
)

// Reply is the model's answer, read.
type Reply struct {
	Label      Label
	Confidence float64
	Evidence   string
}

// ErrUnparseable is wrapped by the errors of ParseReply: the model's reply
// is not the JSON object asked for, so it is not a verdict.
var ErrUnparseable = errors.New("the reply is not the JSON object asked for")

// ParseReply reads the model's answer. It accepts the object alone (what a
// JSON-schema response format yields) and, for endpoints without one, the
// object inside a ```json fence or surrounded by prose: the first JSON
// object in the text that has a label. A reply holding answers with
// different labels is an error. The label is matched without regard
// to case; the confidence must be a number (or a numeric string) from 0 to
// 1; the evidence, when present, a string. Anything else is an error that
// wraps ErrUnparseable: a reply that cannot be read is never a verdict.
// Errors do not quote the reply, which may quote the document.
func ParseReply(s string) (Reply, error) {
	var firstErr error
	var found *Reply
	for _, cand := range candidates(s) {
		r, err := parseObject(cand)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case found == nil:
			found = &r
		case found.Label != r.Label:
			return Reply{}, fmt.Errorf("%w: it holds answers with different labels", ErrUnparseable)
		}
	}
	if found != nil {
		return *found, nil
	}
	if firstErr == nil {
		firstErr = errors.New("no JSON object in it")
	}
	return Reply{}, fmt.Errorf("%w: %v", ErrUnparseable, firstErr)
}

// maxCandidates bounds the objects tried in one reply.
const maxCandidates = 8

// candidates returns the texts that may hold the answer, most likely first:
// the whole reply, the body of each ``` fence, and each JSON object that
// starts at a '{'.
func candidates(s string) []string {
	s = strings.TrimSpace(s)
	out := []string{s}
	for rest := s; len(out) < maxCandidates; {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		j := strings.Index(body, "```")
		if j < 0 {
			break
		}
		fenced := body[:j]
		// The info string: "json", "JSON", or nothing.
		if nl := strings.IndexByte(fenced, '\n'); nl >= 0 && !strings.Contains(fenced[:nl], "{") {
			fenced = fenced[nl+1:]
		}
		out = append(out, strings.TrimSpace(fenced))
		rest = body[j+3:]
	}
	for i, n := 0, 0; i < len(s) && n < maxCandidates; i++ {
		if s[i] != '{' {
			continue
		}
		n++
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == nil {
			out = append(out, string(raw))
			i += int(dec.InputOffset()) - 1
		}
	}
	return out
}

// answer is the answer's wire form, read leniently.
type answer struct {
	Label      *string         `json:"label"`
	Confidence json.RawMessage `json:"confidence"`
	Evidence   json.RawMessage `json:"evidence"`
}

func parseObject(s string) (Reply, error) {
	var a answer
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&a); err != nil {
		return Reply{}, fmt.Errorf("not JSON: %v", jsonErr(err))
	}
	if dec.More() {
		return Reply{}, errors.New("more than one JSON value")
	}
	if a.Label == nil {
		return Reply{}, errors.New(`no "label"`)
	}
	var r Reply
	switch l := Label(strings.ToLower(strings.TrimSpace(*a.Label))); l {
	case LabelInjection, LabelClean:
		r.Label = l
	default:
		return Reply{}, errors.New(`"label" is neither "injection" nor "clean"`)
	}
	c, err := number(a.Confidence)
	if err != nil {
		return Reply{}, err
	}
	r.Confidence = c
	if len(a.Evidence) > 0 && !bytes.Equal(a.Evidence, []byte("null")) {
		if err := json.Unmarshal(a.Evidence, &r.Evidence); err != nil {
			return Reply{}, errors.New(`"evidence" is not a string`)
		}
	}
	return r, nil
}

// number reads the confidence: a JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, errors.New(`no "confidence"`)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, errors.New(`"confidence" is not a number`)
		}
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return 0, errors.New(`"confidence" is not a number`)
		}
	}
	if math.IsNaN(f) || f < 0 || f > 1 {
		return 0, errors.New(`"confidence" is not between 0 and 1`)
	}
	return f, nil
}

// jsonErr keeps the kind of a JSON error without the text it quotes.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s where %s was expected", te.Value, te.Type)
	}
	return "unexpected end"
}
