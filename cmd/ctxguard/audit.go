package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
)

type auditCmd struct {
	Tail   auditTailCmd   `cmd:"" help:"Print the latest records, one JSON object a line; with -f, keep printing new ones."`
	Export auditExportCmd `cmd:"" help:"Export records for a SIEM, one JSON object a line, in constant memory."`
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
	Format string `name:"format" default:"jsonl" enum:"jsonl" help:"Output format (${enum})."`
	Since  string `name:"since" placeholder:"T" help:"Only records observed at or after T: RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01), or a duration ago (24h)."`
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
	w := bufio.NewWriterSize(g.stdout, 64<<10)
	if err := db.ScanRecords(ctx, q, func(r *ctxguard.Record) error { return writeJSONLine(w, r) }); err != nil {
		return err
	}
	return w.Flush()
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
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration ago (24h)", s)
}
