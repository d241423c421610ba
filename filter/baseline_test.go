package filter_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter"
	"github.com/ctxguard/ctxguard/filter/policy"
	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

// signedSet signs docs (URI → content) with a fresh trusted key and loads
// them.
func signedSet(t testing.TB, docs map[string][]byte) *baseline.Set {
	t.Helper()
	priv, _, err := sshsig.GenerateKey("owner", nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sshsig.ParsePrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := baseline.NewBuilder(filepath.Join(dir, "kb.json"))
	if err != nil {
		t.Fatal(err)
	}
	for uri, c := range docs {
		if err := b.Add(uri, "", c); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	h := baseline.Header{Name: "kb", Sequence: 1, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour), Signer: sshsig.Fingerprint(key.PublicKey())}
	if _, err := b.Finish(h, key); err != nil {
		t.Fatal(err)
	}
	trust := &baseline.Trust{Scopes: map[string][]string{}}
	if err := trust.Add("owner", key.PublicKey(), []string{"file:///kb/"}); err != nil {
		t.Fatal(err)
	}
	set, err := baseline.Load(context.Background(), []string{dir}, trust, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// baselineStages checks against set and decides with the default policy,
// changed by on; there is no queue.
func baselineStages(set *baseline.Set, on map[ctxguard.BaselineStatus]ctxguard.Decision) []filter.Stage {
	var s policy.Settings
	if len(on) > 0 {
		s.On = map[policy.Outcome]ctxguard.Decision{}
		for k, v := range on {
			s.On[policy.Outcome(k)] = v
		}
	}
	return []filter.Stage{
		&filter.BaselineStage{Baselines: func() *baseline.Set { return set }},
		&filter.DecideStage{Policy: &policy.Policy{Default: s}},
	}
}

// A resource embedded in a tool result is checked under its own URI; the
// text next to it is not a document and gets no baseline.
func TestBaselineEmbeddedResource(t *testing.T) {
	set := signedSet(t, map[string][]byte{"file:///kb/a.md": []byte("alpha\n")})
	h := newHarness(t, baselineStages(set, nil)...)
	h.client(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}`)
	h.server(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"1 hit"},{"type":"resource","resource":{"uri":"file:///kb/a.md","text":"alpha!\n"}}]}}`)
	var text, doc *ctxguard.Record
	for _, r := range h.records() {
		switch {
		case r.Kind == ctxguard.KindText && r.URI == "file:///kb/a.md":
			doc = r
		case r.Kind == ctxguard.KindText:
			text = r
		}
	}
	if doc == nil || doc.Baseline == nil || doc.Baseline.Status != ctxguard.BaselineDrifted || !strings.Contains(doc.Baseline.Diff, "+alpha!") {
		t.Fatalf("embedded resource: %+v", doc)
	}
	if text == nil || text.Baseline != nil || text.Decision != ctxguard.DecisionPass {
		t.Fatalf("the neighbouring text was judged: %+v", text)
	}
}

// Binary content that drifted is reported without a diff.
func TestBaselineBinaryDrift(t *testing.T) {
	set := signedSet(t, map[string][]byte{"file:///kb/logo.png": {0x89, 'P', 'N', 'G', 0, 1, 2}})
	h := newHarness(t, baselineStages(set, nil)...)
	h.client(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/logo.png"}}`)
	h.server(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///kb/logo.png","mimeType":"image/png","blob":"iVBORwADBAU="}]}}`)
	r := h.records()[0]
	if r.Baseline.Status != ctxguard.BaselineDrifted || r.Baseline.Diff != "" || !strings.Contains(r.Baseline.Reason, "binary content differs") {
		t.Fatalf("binary drift: %+v", r.Baseline)
	}
}

// A blocked message is answered with a generic error; the other message of
// the batch passes unchanged.
func TestBaselineBlockInBatch(t *testing.T) {
	set := signedSet(t, map[string][]byte{"file:///kb/a.md": []byte("alpha\n"), "file:///kb/b.md": []byte("beta\n")})
	h := newHarness(t, baselineStages(set, map[ctxguard.BaselineStatus]ctxguard.Decision{ctxguard.BaselineDrifted: ctxguard.DecisionBlock})...)
	h.client(`[{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///kb/a.md"}},{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///kb/b.md"}}]`)
	good := `{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"file:///kb/b.md","text":"beta\n"}]}}`
	out, _ := h.server(`[{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///kb/a.md","text":"ALPHA\n"}]}},` + good + `]`)
	if !strings.Contains(out, `"code":-32095`) || !strings.Contains(out, good) || strings.Contains(out, "ALPHA") {
		t.Fatalf("forwarded %s", out)
	}
	recs := h.records()
	if len(recs) != 2 || recs[0].Decision != ctxguard.DecisionBlock || recs[1].Baseline.Status != ctxguard.BaselineMatch {
		t.Fatalf("records %+v %+v", recs[0].Baseline, recs[1].Baseline)
	}
}

// BenchmarkBaselineStage is the filter's work on a 64 KB resources/read
// response with and without the baseline stage, against 100,000 signed
// entries (the response matches its entry).
func BenchmarkBaselineStage(b *testing.B) {
	text := strings.Repeat("Invoices are paid on net-30 terms.\n", 64<<10/35+1)[:64<<10]
	docs := map[string][]byte{"file:///kb/doc.md": []byte(text)}
	for i := range 100_000 {
		docs["file:///kb/d/"+string(rune('a'+i%26))+"/"+sha256hex(i)] = []byte{byte(i)}
	}
	set := signedSet(b, docs)
	for _, tc := range []struct {
		name   string
		stages []filter.Stage
	}{{"without", nil}, {"baseline-100k", baselineStages(set, nil)}} {
		b.Run(tc.name, func(b *testing.B) {
			benchmarkRead(b, text, tc.stages...)
		})
	}
}

func sha256hex(i int) string {
	s := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
	return string(rune('a'+s[0]%26)) + string(rune('a'+s[1]%26)) + "-" + itoa(i)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
