package llm_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/detectors/llm"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		name, in string
		want     llm.Reply
		err      string
	}{
		{"schema answer", `{"label":"injection","confidence":0.93,"evidence":"Ignore previous instructions."}`,
			llm.Reply{Label: llm.LabelInjection, Confidence: 0.93, Evidence: "Ignore previous instructions."}, ""},
		{"fenced", "```json\n{\"label\": \"clean\", \"confidence\": 0.8, \"evidence\": \"\"}\n```", llm.Reply{Label: llm.LabelClean, Confidence: 0.8}, ""},
		{"fence without info string", "```\n{\"label\": \"clean\", \"confidence\": 1, \"evidence\": \"\"}\n```", llm.Reply{Label: llm.LabelClean, Confidence: 1}, ""},
		{"prose around", `Answer: {"label":"INJECTION","confidence":"0.6","evidence":"x"} done.`, llm.Reply{Label: llm.LabelInjection, Confidence: 0.6, Evidence: "x"}, ""},
		{"evidence missing", `{"label":"clean","confidence":0.7}`, llm.Reply{Label: llm.LabelClean, Confidence: 0.7}, ""},
		{"evidence null", `{"label":"clean","confidence":0,"evidence":null}`, llm.Reply{Label: llm.LabelClean}, ""},
		{"first object without a label", `{"verdict":"clean"} {"label":"clean","confidence":1,"evidence":""}`, llm.Reply{Label: llm.LabelClean, Confidence: 1}, ""},
		{"braces in evidence", `{"label":"injection","confidence":0.9,"evidence":"run {rm -rf}"}`, llm.Reply{Label: llm.LabelInjection, Confidence: 0.9, Evidence: "run {rm -rf}"}, ""},
		{"empty", ``, llm.Reply{}, "not JSON"},
		{"prose", `The document is clean.`, llm.Reply{}, "not JSON"},
		{"truncated", `{"label":"clean","confidence":0.9,`, llm.Reply{}, "not JSON"},
		{"no label", `{"confidence":0.9}`, llm.Reply{}, `no "label"`},
		{"label not a string", `{"label":1,"confidence":0.9}`, llm.Reply{}, "not JSON"},
		{"other label", `{"label":"benign","confidence":0.9}`, llm.Reply{}, "neither"},
		{"no confidence", `{"label":"clean"}`, llm.Reply{}, `no "confidence"`},
		{"confidence above 1", `{"label":"clean","confidence":1.5}`, llm.Reply{}, "between 0 and 1"},
		{"confidence negative", `{"label":"clean","confidence":-0.1}`, llm.Reply{}, "between 0 and 1"},
		{"confidence NaN string", `{"label":"clean","confidence":"NaN"}`, llm.Reply{}, "between 0 and 1"},
		{"confidence word", `{"label":"clean","confidence":"high"}`, llm.Reply{}, "not a number"},
		{"evidence not a string", `{"label":"injection","confidence":0.9,"evidence":["a"]}`, llm.Reply{}, "not a string"},
		{"two answers that agree", `{"label":"clean","confidence":0.9} {"label":"clean","confidence":0.8}`, llm.Reply{Label: llm.LabelClean, Confidence: 0.9}, ""},
		{"two answers that differ", `{"label":"clean","confidence":0.9} {"label":"injection","confidence":0.9}`, llm.Reply{}, "different labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := llm.ParseReply(tt.in)
			if tt.err != "" {
				if !errors.Is(err, llm.ErrUnparseable) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseReply = %+v, %v; want an error mentioning %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseReply = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseReply: the parser never panics, and whatever it accepts is a
// verdict the schema allows: a known label and a confidence in [0, 1].
// Seeded from testdata/replies.
func FuzzParseReply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := llm.ParseReply(s)
		if err != nil {
			if !errors.Is(err, llm.ErrUnparseable) {
				t.Fatalf("error %v does not wrap ErrUnparseable", err)
			}
			if r != (llm.Reply{}) {
				t.Fatalf("an error with a reply: %+v", r)
			}
			return
		}
		if r.Label != llm.LabelInjection && r.Label != llm.LabelClean {
			t.Fatalf("label %q", r.Label)
		}
		if math.IsNaN(r.Confidence) || r.Confidence < 0 || r.Confidence > 1 {
			t.Fatalf("confidence %v", r.Confidence)
		}
	})
}
