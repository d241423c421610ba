package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/store/bolt"
)

type verifyCmd struct {
	AllowedSigners string   `name:"allowed-signers" placeholder:"FILE" type:"existingfile" help:"Check against this OpenSSH allowed_signers file instead of the trust store. It has no URI scopes: give them with --scope, or none are checked."`
	Scope          []string `name:"scope" sep:"none" placeholder:"PREFIX" help:"With --allowed-signers: the URI prefixes its signers may sign; repeatable."`
	Manifest       string   `arg:"" name:"manifest" type:"existingfile" help:"The manifest; its signature is MANIFEST.sig."`
	Dir            string   `arg:"" optional:"" name:"dir" type:"existingdir" help:"Check every document's checksum in this directory too, and that it holds no file the manifest does not list."`
}

func (c *verifyCmd) Run(ctx context.Context, g *Globals) error {
	dataDir, err := g.dataDir()
	if err != nil {
		return err
	}
	if len(c.Scope) > 0 && c.AllowedSigners == "" {
		return exitCode{2, "verify: --scope goes with --allowed-signers; the trust store has its own scopes (ctxguard trust ls)"}
	}
	var trust *baseline.Trust
	if c.AllowedSigners != "" {
		if trust, err = baseline.LoadAllowedSigners(c.AllowedSigners); err != nil {
			return exitCode{1, "verify: " + err.Error()}
		}
		if len(c.Scope) > 0 {
			for _, s := range c.Scope {
				if err := baseline.CheckScope(s); err != nil {
					return exitCode{2, "verify: " + err.Error()}
				}
			}
			trust.Unscoped = false
			trust.Scopes = map[string][]string{}
			for _, s := range trust.Signers {
				for _, p := range splitPrincipals(s.Principals) {
					trust.Scopes[p] = c.Scope
				}
			}
		} else {
			fmt.Fprintf(g.stderr, "verify: note: %s has no URI scopes; the signer may sign any URI (give --scope to check them)\n", c.AllowedSigners)
		}
	} else if trust, err = baseline.LoadTrust(dataDir); err != nil {
		return exitCode{1, "verify: " + err.Error()}
	}

	raw, err := os.ReadFile(c.Manifest)
	if err != nil {
		return exitCode{1, "verify: " + err.Error()}
	}
	sig, err := os.ReadFile(c.Manifest + baseline.SignatureSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return exitCode{1, fmt.Sprintf("verify: FAIL no signature: %s%s does not exist", c.Manifest, baseline.SignatureSuffix)}
	}
	if err != nil {
		return exitCode{1, "verify: " + err.Error()}
	}
	v, err := baseline.Verify(raw, sig, trust, time.Now())
	if err != nil {
		// Not a manifest in canonical form (syntax, duplicated entries,
		// other whitespace): nothing it says can be trusted, not even
		// which documents to check.
		fmt.Fprintf(g.stdout, "FAIL %s\n", sanitizeLine(err.Error()))
		return exitCode{1, fmt.Sprintf("verify: %s: %s", c.Manifest, sanitizeLine(err.Error()))}
	}
	problems := v.Problems
	if p := c.rollback(ctx, g, dataDir, v); p != nil {
		problems = append(problems, *p)
	}
	if c.Dir != "" {
		own := ownFiles(c.Manifest)
		dp, err := baseline.CheckDir(v.Manifest, c.Dir, own)
		if err != nil {
			return exitCode{1, "verify: " + err.Error()}
		}
		problems = append(problems, dp...)
	}
	m := v.Manifest
	signer := v.Principal
	switch {
	case signer != "":
		signer = sanitizeLine(signer) + " (" + v.Key + ")"
	case v.Key != "":
		signer = "no trusted principal (key " + v.Key + ")"
	default:
		signer = "nobody (no readable signature)"
	}
	fmt.Fprintf(g.stdout, "manifest %s #%d: %d entries, signed by %s, issued %s, expires %s\n", sanitizeLine(m.Name), m.Sequence, len(m.Entries),
		signer, m.IssuedAt.Format(time.RFC3339), m.ExpiresAt.Format(time.RFC3339))
	for _, p := range problems {
		fmt.Fprintf(g.stdout, "FAIL %s\n", sanitizeLine(p.String()))
	}
	if len(problems) > 0 {
		return exitCode{1, fmt.Sprintf("verify: %s: %d problem(s)", c.Manifest, len(problems))}
	}
	if c.Dir != "" {
		fmt.Fprintf(g.stdout, "OK: signature, signer, scopes and all %d documents under %s hold\n", len(m.Entries), c.Dir)
	} else {
		fmt.Fprintln(g.stdout, "OK: signature, signer and scopes hold")
	}
	return nil
}

// rollback compares the manifest with the sequence the filter accepted
// last, when this data directory has a store; it never advances it.
func (c *verifyCmd) rollback(ctx context.Context, g *Globals, dataDir string, v *baseline.Verified) *baseline.Problem {
	if _, err := os.Stat(filepath.Join(dataDir, bolt.FileName)); err != nil {
		return nil
	}
	db, err := bolt.Open(dataDir, bolt.Options{})
	if err != nil {
		fmt.Fprintf(g.stderr, "verify: note: rollback not checked: %v\n", err)
		return nil
	}
	defer db.Close()
	seq, digest, ok, err := db.AcceptedManifest(ctx, v.Manifest.Name)
	switch {
	case err != nil:
		fmt.Fprintf(g.stderr, "verify: note: rollback not checked: %v\n", err)
		return nil
	case !ok:
		return nil
	case v.Manifest.Sequence < seq:
		return &baseline.Problem{Kind: baseline.ProblemRollback, Detail: fmt.Sprintf("sequence %d of %s is older than sequence %d already accepted", v.Manifest.Sequence, v.Manifest.Name, seq)}
	case v.Manifest.Sequence == seq && digest != v.Digest:
		return &baseline.Problem{Kind: baseline.ProblemRollback, Detail: fmt.Sprintf("sequence %d of %s was accepted before with other content", seq, v.Manifest.Name)}
	}
	return nil
}
