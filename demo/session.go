package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard"
)

// Transcript says what the scripted session did.
type Transcript struct {
	Server    string
	Resources int
	Reads     int
	Calls     int
}

// RunSession is the scripted client: it connects over t, lists the tools
// and resources, reads every resource and searches the knowledge base, as
// an assistant answering a question would.
func RunSession(ctx context.Context, t mcp.Transport) (Transcript, error) {
	var tr Transcript
	c := mcp.NewClient(&mcp.Implementation{Name: "ctxguard-demo-client", Version: "1.0.0"}, nil)
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		return tr, fmt.Errorf("demo: connect: %w", err)
	}
	defer cs.Close()
	if ir := cs.InitializeResult(); ir != nil && ir.ServerInfo != nil {
		tr.Server = ir.ServerInfo.Name
	}
	if _, err := cs.ListTools(ctx, nil); err != nil {
		return tr, fmt.Errorf("demo: list tools: %w", err)
	}
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			return tr, fmt.Errorf("demo: list resources: %w", err)
		}
		tr.Resources++
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: r.URI}); err != nil {
			return tr, fmt.Errorf("demo: read %s: %w", r.URI, err)
		}
		tr.Reads++
	}
	for _, q := range []string{"password", "IBAN"} {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": q}}); err != nil {
			return tr, fmt.Errorf("demo: search: %w", err)
		}
		tr.Calls++
	}
	return tr, nil
}

// PrintRecords writes the observed items as a table: what was read, how
// large, its SHA-256, and when.
func PrintRecords(w io.Writer, recs []*ctxguard.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tMETHOD\tKIND\tURI / TOOL\tSIZE\tSHA-256\tBASELINE\tVERDICT\tSCORE\tDECISION\tTIME")
	for _, r := range recs {
		what := r.URI
		if what == "" {
			what = r.Tool
		}
		if what == "" {
			what = r.Prompt
		}
		if what == "" {
			what = "-"
		}
		verdict := string(r.Verdict)
		if verdict == "" {
			verdict = "-"
		}
		baseline, decision := "-", "-"
		if r.Baseline != nil {
			baseline = string(r.Baseline.Status)
		}
		if r.Decision != "" {
			decision = string(r.Decision)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%.2f\t%s\t%s\n", r.Seq, r.Method, r.Kind, sanitize(what), r.Size, r.SHA256[:16]+"…",
			baseline, verdict, r.Score, decision, r.Time.Local().Format(time.TimeOnly+".000"))
	}
	return tw.Flush()
}

// sanitize keeps a server-supplied name from writing control sequences to
// the operator's terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
