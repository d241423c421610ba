package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ctxguard/ctxguard/store"
)

type pinsCmd struct {
	Ls    pinsLsCmd    `cmd:"" help:"List the pinned tool definitions."`
	Reset pinsResetCmd `cmd:"" help:"Forget a server's pins (or one tool's): the next definition seen is pinned, after you have reviewed it."`
}

type pinsLsCmd struct {
	Server string `name:"server" placeholder:"NAME" help:"Only this server's pins."`
	JSON   bool   `name:"json" help:"One JSON object a line, with the pinned definition."`
}

func (c *pinsLsCmd) Run(ctx context.Context, g *Globals) error {
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	if !c.JSON {
		fmt.Fprintln(tw, "SERVER\tKIND\tNAME\tSHA256")
	}
	enc := json.NewEncoder(g.stdout)
	err = db.Pins(ctx, c.Server, func(p store.PinKey, def []byte) error {
		sum := sha256.Sum256(def)
		if c.JSON {
			return enc.Encode(map[string]any{"server": p.Server, "kind": p.Kind, "name": p.Name, "sha256": hex.EncodeToString(sum[:]), "definition": json.RawMessage(def)})
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%x\n", sanitizeLine(p.Server), p.Kind, sanitizeLine(p.Name), sum)
		return err
	})
	if err != nil {
		return err
	}
	if c.JSON {
		return nil
	}
	return tw.Flush()
}

type pinsResetCmd struct {
	Server string `arg:"" name:"server" help:"The server, as named in the records (wrap --name)."`
	Tool   string `arg:"" optional:"" name:"tool" help:"Only this tool's pin."`
}

func (c *pinsResetCmd) Run(ctx context.Context, g *Globals) error {
	db, err := openStore(g)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Unpin(ctx, store.PinKey{Server: c.Server, Kind: "tool", Name: c.Tool})
	if err != nil {
		return err
	}
	if n == 0 && c.Tool != "" {
		return exitCode{1, fmt.Sprintf("pins reset: no pin for tool %q of %q (see ctxguard pins ls)", c.Tool, c.Server)}
	}
	if n == 0 {
		return exitCode{1, fmt.Sprintf("pins reset: no pins for %q (see ctxguard pins ls)", c.Server)}
	}
	fmt.Fprintf(g.stdout, "removed %d pin(s) of %s\n", n, c.Server)
	return nil
}
