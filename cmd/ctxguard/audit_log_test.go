package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/store/bolt"
)

// readAll runs a wrap session over the sample knowledge base that reads
// every document, and ends it: the wrap process signs a checkpoint as it
// stops.
func readAll(t *testing.T, data, kb string) {
	t.Helper()
	cs := connect(t, exec.Command(ctxguardBin, wrapArgs(data, nil, kbserverBin, "-dir", kb)...))
	ctx := context.Background()
	for name := range sampleDocs {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///kb/" + name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
}

func seqKey8(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// tamperStore edits the bbolt file of a data directory directly.
func tamperStore(t *testing.T, data string, fn func(records *bbolt.Bucket) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(data, bolt.FileName), 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error { return fn(tx.Bucket([]byte("records"))) }); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestAuditVerifyNamesTampering(t *testing.T) {
	kb, _ := writeKB(t, sampleDocs)
	data := t.TempDir()
	readAll(t, data, kb)
	ctx := context.Background()

	code, out, errs := runMain(t, ctx, "--data-dir", data, "audit", "verify")
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "1 checkpoints verified") {
		t.Fatalf("verify of an intact log after one session: exit %d\n%s%s", code, out, errs)
	}
	kept := filepath.Join(t.TempDir(), "checkpoint")
	if code, _, errs := runMain(t, ctx, "--data-dir", data, "audit", "checkpoint", "-o", kept); code != 0 {
		t.Fatalf("checkpoint: %s", errs)
	}
	n := len(readRecords(t, data))
	readAll(t, data, kb) // the log grows
	code, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "verify", "--checkpoint", kept)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("given checkpoint of %d records", n)) {
		t.Fatalf("verify with a checkpoint kept elsewhere: exit %d\n%s", code, out)
	}

	cases := []struct {
		name   string
		tamper func(b *bbolt.Bucket) error
		want   string
	}{
		{"modified", func(b *bbolt.Bucket) error {
			return b.Put(seqKey8(3), []byte(strings.Replace(string(b.Get(seqKey8(3))), `"stdio"`, `"sse"`, 1)))
		}, "FAIL record 3 modified"},
		{"removed", func(b *bbolt.Bucket) error { return b.Delete(seqKey8(4)) }, "FAIL record 4 removed"},
		{"reordered", func(b *bbolt.Bucket) error {
			a, c := append([]byte(nil), b.Get(seqKey8(2))...), append([]byte(nil), b.Get(seqKey8(5))...)
			b.Put(seqKey8(2), c)
			return b.Put(seqKey8(5), a)
		}, "FAIL record 2 reordered: it holds what was logged as record 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, data)
			tamperStore(t, d, tc.tamper)
			code, out, _ := runMain(t, ctx, "--data-dir", d, "audit", "verify", "--checkpoint", kept)
			if code != 1 || !strings.HasPrefix(out, tc.want) || strings.Contains(out, "\nOK") {
				t.Fatalf("exit %d, want 1 and a first line %q:\n%s", code, tc.want, out)
			}
		})
	}

	// A forged key is caught by a public key kept elsewhere.
	pub, err := os.ReadFile(filepath.Join(data, "audit.key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	d := copyDir(t, data)
	os.Remove(filepath.Join(d, "audit.key"))
	os.Remove(filepath.Join(d, "audit.key.pub"))
	appendOld(t, d, 1, time.Now())
	if code, _, errs := runMain(t, ctx, "--data-dir", d, "audit", "checkpoint"); code != 0 { // a new key
		t.Fatal(errs)
	}
	code, out, _ = runMain(t, ctx, "--data-dir", d, "audit", "verify", "--key", strings.TrimSpace(string(pub)))
	if code != 1 || !strings.Contains(out, "not signed by the log's key") {
		t.Fatalf("checkpoints signed by a replaced key: exit %d\n%s", code, out)
	}
}

func TestAuditExportCEF(t *testing.T) {
	kb, _ := writeKB(t, sampleDocs)
	data := t.TempDir()
	readAll(t, data, kb)
	recs := readRecords(t, data)
	code, out, errs := runMain(t, context.Background(), "--data-dir", data, "audit", "export", "--format", "cef")
	if code != 0 {
		t.Fatal(errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d CEF lines for %d records", len(lines), len(recs))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "CEF:0|ctxguard|ctxguard|") || !strings.Contains(l, " fileHash="+recs[i].SHA256) ||
			!strings.Contains(l, fmt.Sprintf("externalId=%d ", recs[i].Seq)) || !strings.Contains(l, "destinationServiceName=") {
			t.Fatalf("line %d: %s", i, l)
		}
	}
}

// appendOld stores n records observed days ago, as a filter would have.
func appendOld(t *testing.T, data string, n int, at time.Time) {
	t.Helper()
	db, err := bolt.Open(data, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []*ctxguard.Record
	for i := range n {
		recs = append(recs, &ctxguard.Record{Time: at.Add(time.Duration(i) * time.Second), Origin: ctxguard.Origin{Server: "kb", Transport: "stdio", Session: "old", Message: "response", Method: "resources/read", URI: fmt.Sprintf("file:///kb/%d.md", i)},
			Kind: ctxguard.KindText, Size: 1, SHA256: fmt.Sprintf("%064x", i)})
	}
	if err := db.AppendRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func TestAuditPrune(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	appendOld(t, data, 50, time.Now().Add(-100*24*time.Hour))
	kept := filepath.Join(t.TempDir(), "before")
	if code, _, errs := runMain(t, ctx, "--data-dir", data, "audit", "checkpoint", "-o", kept); code != 0 {
		t.Fatal(errs)
	}
	kb, _ := writeKB(t, sampleDocs)
	readAll(t, data, kb)
	recent := len(readRecords(t, data)) - 50

	code, out, errs := runMain(t, ctx, "--data-dir", data, "audit", "prune")
	if code != 0 || !strings.HasPrefix(out, "pruned records 1 to 50 ") {
		t.Fatalf("prune at the default 90 days: exit %d %s%s", code, out, errs)
	}
	if n := len(readRecords(t, data)); n != recent {
		t.Fatalf("%d records left, want the %d recent ones", n, recent)
	}
	code, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "verify", "--checkpoint", kept)
	if code != 0 || !strings.Contains(out, "(1 to 50 pruned by retention on ") || !strings.Contains(out, "given checkpoint of 50 records") {
		t.Fatalf("verify after pruning, with a checkpoint from before: exit %d\n%s", code, out)
	}
	code, out, _ = runMain(t, ctx, "--data-dir", data, "audit", "prune", "--older-than", "90d")
	if code != 0 || !strings.HasPrefix(out, "nothing to prune") {
		t.Fatalf("second prune: %d %s", code, out)
	}
	if code, _, errs := runMain(t, ctx, "--data-dir", data, "audit", "prune", "--older-than", "soon"); code != 2 || !strings.Contains(errs, "90d") {
		t.Fatalf("bad --older-than: %d %s", code, errs)
	}
}

// A running filter prunes in the background and signs on the way out.
func TestAuditBackgroundPruning(t *testing.T) {
	data := t.TempDir()
	appendOld(t, data, 30, time.Now().Add(-10*24*time.Hour))
	appendOld(t, data, 5, time.Now())
	old := pruneDelay
	pruneDelay = 10 * time.Millisecond
	t.Cleanup(func() { pruneDelay = old })
	retention := config.Duration{Duration: 7 * 24 * time.Hour}
	g := &Globals{DataDir: data, LogLevel: "info", stderr: testWriter{t}, cfg: &config.Config{Audit: config.Audit{Retention: &retention,
		PruneInterval: config.Duration{Duration: time.Hour}}}}
	db, err := openFilterStore(g, data, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := db.LogState(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Pruned == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not pruned in the background: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	db.Close()
	code, out, _ := runMain(t, context.Background(), "--data-dir", data, "audit", "verify")
	if code != 0 || !strings.Contains(out, "the latest covers 35 records") {
		t.Fatalf("after background pruning: exit %d\n%s", code, out)
	}
}

// One process of those sharing a data directory prunes per interval.
func TestPrunerClaimsTheInterval(t *testing.T) {
	dir := t.TempDir()
	a := &pruner{interval: time.Hour, stamp: filepath.Join(dir, "audit.pruned")}
	b := &pruner{interval: time.Hour, stamp: filepath.Join(dir, "audit.pruned")}
	release, ok := a.due()
	if !ok {
		t.Fatal("the first process could not claim the pruning")
	}
	if _, ok := b.due(); ok {
		t.Fatal("a second process claimed it while the first prunes")
	}
	release()
	if _, ok := b.due(); ok {
		t.Fatal("a second process claimed it within the interval")
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(a.stamp, old, old)
	if release, ok := b.due(); !ok {
		t.Fatal("not claimed once the interval passed")
	} else {
		release()
	}
}
