package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/provenance/cef"
	"github.com/ctxguard/ctxguard/provenance/tlog"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

type auditCmd struct {
	Tail       auditTailCmd       `cmd:"" help:"Print the latest records, one JSON object a line; with -f, keep printing new ones."`
	Export     auditExportCmd     `cmd:"" help:"Export records for a SIEM (JSON lines or CEF), in constant memory."`
	Verify     auditVerifyCmd     `cmd:"" help:"Re-derive the log's Merkle tree from the records and check it against the signed checkpoints: names the first record modified, removed or reordered. Exit 0 when it verifies, 1 otherwise."`
	Checkpoint auditCheckpointCmd `cmd:"" help:"Sign a checkpoint of the log's head (when it grew) and print it, for keeping elsewhere; audit verify --checkpoint FILE later proves the log only grew."`
	Prune      auditPruneCmd      `cmd:"" help:"Remove records past their retention now (filters also do it in the background), keeping a signed checkpoint that anchors the rest."`
}

type auditTailCmd struct {
	Lines  int           `short:"n" name:"lines" default:"10" help:"How many of the latest records to print."`
	Follow bool          `short:"f" name:"follow" help:"Keep printing records as they are stored, until interrupted."`
	Poll   time.Duration `name:"poll" default:"250ms" hidden:""`
}

func (c *auditTailCmd) Run(ctx context.Context, g *Globals) error {
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	w := bufio.NewWriter(g.stdout)
	var last uint64
	emit := func(r *ctxguard.Record) error {
		last = r.Seq
		return writeJSONLine(w, r)
	}
	if c.Lines > 0 {
		if err := db.ScanRecords(ctx, store.RecordQuery{Last: c.Lines}, emit); err != nil {
			return err
		}
	} else if err := db.ScanRecords(ctx, store.RecordQuery{Last: 1}, func(r *ctxguard.Record) error { last = r.Seq; return nil }); err != nil {
		return err
	}
	if err := w.Flush(); err != nil || !c.Follow {
		return err
	}
	t := time.NewTicker(c.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := db.ScanRecords(ctx, store.RecordQuery{AfterSeq: last}, emit); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

type auditExportCmd struct {
	Format string `name:"format" default:"jsonl" enum:"jsonl,cef" help:"Output format: jsonl (the records' JSON, one a line) or cef (ArcSight Common Event Format, one event a line)."`
	Since  string `name:"since" placeholder:"T" help:"Only records observed at or after T: RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01), or a duration ago (24h, 30d)."`
	Until  string `name:"until" placeholder:"T" help:"Only records observed before T, in the same forms as --since."`
}

func (c *auditExportCmd) Run(ctx context.Context, g *Globals) error {
	var q store.RecordQuery
	var err error
	if q.Since, err = parseTime(c.Since, time.Now()); err != nil {
		return fmt.Errorf("audit export: --since: %w", err)
	}
	if q.Until, err = parseTime(c.Until, time.Now()); err != nil {
		return fmt.Errorf("audit export: --until: %w", err)
	}
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	// Export only reads (a full disk must not stop it), so the bar shows
	// how far into the log it is, without a total.
	bar := progress(g, -1, "exporting, at record")
	defer bar.Finish()
	w := bufio.NewWriterSize(g.stdout, 64<<10)
	write := func(r *ctxguard.Record) error { return writeJSONLine(w, r) }
	if c.Format == "cef" {
		write = cef.NewWriter(w, version).Write
	}
	q.Progress = func(seq uint64) { bar.Set64(int64(seq)) }
	if err := db.ScanRecords(ctx, q, write); err != nil {
		return err
	}
	return w.Flush()
}

type auditVerifyCmd struct {
	Key        string   `name:"key" placeholder:"KEY|FILE" help:"The log's public key (name+hash+key, as in audit.key.pub) or a file holding it. Default: the key file's .pub in the data directory; pass a copy kept elsewhere to rule out a replaced key."`
	Checkpoint []string `name:"checkpoint" placeholder:"FILE" help:"A signed checkpoint kept elsewhere (from audit checkpoint): prove the log only grew since. Repeatable."`
	Max        int      `name:"max-problems" default:"20" help:"How many problems to list; the rest are counted."`
}

func (c *auditVerifyCmd) Run(ctx context.Context, g *Globals) error {
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	keyText := c.Key
	if keyText == "" {
		keyText = tlog.PublicPath(auditKeyPath(g, dir))
	}
	if b, err := os.ReadFile(keyText); err == nil {
		keyText = string(b)
	} else if c.Key == "" {
		return exitCode{2, fmt.Sprintf("audit verify: no public key: %v (no checkpoint was ever signed here? pass --key)", err)}
	}
	v, err := tlog.ParseVerifier(keyText)
	if err != nil {
		return exitCode{2, "audit verify: --key: " + err.Error()}
	}
	var given [][]byte
	for _, f := range c.Checkpoint {
		b, err := os.ReadFile(f)
		if err != nil {
			return exitCode{2, "audit verify: " + err.Error()}
		}
		given = append(given, b)
	}
	// Exit 1 means the log does not verify; a store that cannot be read
	// is another matter (exit 2).
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return exitCode{2, "audit verify: " + err.Error()}
	}
	defer db.Close()
	st, err := db.LogState(ctx)
	if err != nil {
		return exitCode{2, "audit verify: " + err.Error()}
	}
	bar := progress(g, int64(st.Size-st.Pruned), "verifying")
	rep, err := tlog.Verify(ctx, db, tlog.Options{Verifier: v, Given: given, MaxProblems: c.Max,
		Progress: func(n uint64) { bar.Set64(int64(n)) }})
	bar.Finish()
	if err != nil {
		return exitCode{2, "audit verify: " + err.Error()}
	}
	w := bufio.NewWriter(g.stdout)
	defer w.Flush()
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "FAIL %s\n", p)
	}
	if rep.Unlisted > 0 {
		fmt.Fprintf(w, "FAIL and %d more problems\n", rep.Unlisted)
	}
	fmt.Fprintf(w, "%d records in the log", rep.Size)
	if p := rep.Pruning; p != nil {
		fmt.Fprintf(w, " (1 to %d pruned by retention on %s: observed before %s)", rep.Pruned,
			p.Time.UTC().Format(time.DateOnly), p.Before.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, ", %d rehashed; %d checkpoints verified", rep.Rehashed, rep.Checkpoints)
	if rep.Latest != nil {
		fmt.Fprintf(w, "; the latest covers %d records, signed %s", rep.Latest.Size, rep.Latest.Time.UTC().Format(time.RFC3339))
		if n := rep.Size - rep.Latest.Size; n > 0 {
			fmt.Fprintf(w, "; %d records after it are not signed yet", n)
		}
	} else if rep.Size > 0 {
		fmt.Fprintf(w, "; no signed checkpoint: the records match the hashes logged for them, but nothing signed vouches for those")
	}
	fmt.Fprintln(w)
	for _, c := range rep.Given {
		fmt.Fprintf(w, "given %s: a prefix of the log\n", c)
	}
	if !rep.OK() {
		w.Flush()
		return exitCode{1, ""}
	}
	fmt.Fprintln(w, "OK")
	return nil
}

type auditCheckpointCmd struct {
	Out string `short:"o" name:"out" placeholder:"FILE" help:"Write the checkpoint to FILE (made owner-only) instead of stdout."`
}

func (c *auditCheckpointCmd) Run(ctx context.Context, g *Globals) error {
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	key, err := auditKey(g, dir)
	if err != nil {
		return err
	}
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	_, signed, ok, err := tlog.SignHead(ctx, db, key, time.Now())
	if err != nil {
		return err
	}
	if !ok {
		return exitCode{1, "audit checkpoint: the log has no records yet"}
	}
	if c.Out != "" {
		return os.WriteFile(c.Out, signed, 0o600)
	}
	_, err = g.stdout.Write(signed)
	return err
}

type auditPruneCmd struct {
	OlderThan string `name:"older-than" placeholder:"AGE" help:"Remove records observed more than AGE ago (90d, 2160h). Default: [audit] retention, else 90d."`
}

func (c *auditPruneCmd) Run(ctx context.Context, g *Globals) error {
	age := g.cfg.Audit.RetentionOrDefault()
	if c.OlderThan != "" {
		d, err := config.ParseDuration(c.OlderThan)
		if err != nil || d <= 0 {
			return exitCode{2, fmt.Sprintf("audit prune: --older-than %q: a positive age such as 90d or 2160h", c.OlderThan)}
		}
		age = d
	}
	if age <= 0 {
		return exitCode{2, "audit prune: the retention is forever ([audit] retention = \"0s\"); pass --older-than"}
	}
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	key, err := auditKey(g, dir)
	if err != nil {
		return err
	}
	db, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	res, err := tlog.Prune(ctx, db, key, now.Add(-age), now)
	if err != nil {
		return exitCode{1, "audit prune: " + err.Error()}
	}
	if res.Through < res.From {
		fmt.Fprintf(g.stdout, "nothing to prune: no record observed before %s\n", now.Add(-age).UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(g.stdout, "pruned records %d to %d (observed before %s); the %s anchors the rest\n",
			res.From, res.Through, now.Add(-age).UTC().Format(time.RFC3339), res.Anchor)
	}
	n, err := tlog.Thin(ctx, db, now, thinAfter)
	if err != nil {
		return exitCode{1, "audit prune: thinning old checkpoints: " + err.Error()}
	}
	if n > 0 {
		fmt.Fprintf(g.stdout, "dropped %d redundant checkpoints older than %s (one a day is kept)\n", n, thinAfter)
	}
	return nil
}

func openStore(g *Globals) (*bolt.DB, error) {
	dir, err := g.dataDir()
	if err != nil {
		return nil, err
	}
	return bolt.Open(dir, bolt.Options{})
}

func writeJSONLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// parseTime reads a point in time as RFC 3339, a date, or a duration before
// now. The empty string is the zero time.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration ago (24h, 30d)", s)
}
