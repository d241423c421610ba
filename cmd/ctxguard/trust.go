package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

type trustCmd struct {
	Add trustAddCmd `cmd:"" help:"Trust a public key to sign manifests for URIs under the given scopes."`
	Ls  trustLsCmd  `cmd:"" help:"List the trusted principals, their keys and scopes."`
	Rm  trustRmCmd  `cmd:"" help:"Revoke a principal: its keys and scopes are removed."`
}

type trustAddCmd struct {
	Principal string   `name:"principal" required:"" placeholder:"NAME" help:"Who signs, as in allowed_signers (for example alice@example.com)."`
	Key       string   `name:"key" required:"" placeholder:"PUBFILE" type:"existingfile" help:"The signer's public key (a .pub file, as ctxguard keygen or ssh-keygen write it)."`
	Scope     []string `name:"scope" required:"" sep:"none" placeholder:"PREFIX" help:"URI prefix the principal may sign (for example file:///kb/); repeatable."`
}

func (c *trustAddCmd) Run(g *Globals) error {
	raw, err := os.ReadFile(c.Key)
	if err != nil {
		return fmt.Errorf("trust add: %w", err)
	}
	key, err := sshsig.ParsePublicKey(raw)
	if err != nil {
		return fmt.Errorf("trust add: %s: %w", c.Key, err)
	}
	dir, t, err := trustStore(g)
	if err != nil {
		return err
	}
	if err := t.Add(c.Principal, key, c.Scope); err != nil {
		return err
	}
	if err := t.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "trusted %s (%s) for %s\n", c.Principal, sshsig.Fingerprint(key), strings.Join(t.Scopes[c.Principal], " "))
	return nil
}

type trustLsCmd struct {
	JSON bool `name:"json" help:"Print a JSON array."`
}

type trustEntry struct {
	Principal   string   `json:"principal"`
	KeyType     string   `json:"key_type"`
	Fingerprint string   `json:"fingerprint"`
	Namespaces  string   `json:"namespaces,omitempty"`
	Scopes      []string `json:"scopes"`
}

func (c *trustLsCmd) Run(g *Globals) error {
	_, t, err := trustStore(g)
	if err != nil {
		return err
	}
	entries := []trustEntry{}
	for _, s := range t.Signers {
		for _, p := range splitPrincipals(s.Principals) {
			scopes := slices.Clone(t.Scopes[p])
			if scopes == nil {
				scopes = []string{}
			}
			kt := s.Key.Type()
			if s.CertAuthority {
				kt += " (cert-authority)"
			}
			entries = append(entries, trustEntry{Principal: p, KeyType: kt, Fingerprint: sshsig.Fingerprint(s.Key), Namespaces: s.Namespaces, Scopes: scopes})
		}
	}
	if c.JSON {
		return printJSON(g, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(g.stdout, "no trusted signers; add one with: ctxguard trust add --principal NAME --key PUBFILE --scope PREFIX")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tKEY\tFINGERPRINT\tSCOPES")
	for _, e := range entries {
		scopes := strings.Join(e.Scopes, " ")
		if scopes == "" {
			scopes = "(none: may sign nothing)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sanitizeLine(e.Principal), e.KeyType, e.Fingerprint, sanitizeLine(scopes))
	}
	return tw.Flush()
}

type trustRmCmd struct {
	Principal string `arg:"" name:"name" help:"The principal to revoke."`
}

func (c *trustRmCmd) Run(g *Globals) error {
	dir, t, err := trustStore(g)
	if err != nil {
		return err
	}
	if !t.Remove(c.Principal) {
		return exitCode{1, fmt.Sprintf("trust rm: %q is not in the trust store", c.Principal)}
	}
	if err := t.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "revoked %s: manifests it signed are rejected from the next reload on\n", c.Principal)
	return nil
}

// splitPrincipals splits an allowed_signers principal list into the
// principals it names literally.
func splitPrincipals(list string) []string {
	var out []string
	for p := range strings.SplitSeq(list, ",") {
		if p != "" && !strings.HasPrefix(p, "!") {
			out = append(out, p)
		}
	}
	return out
}

// trustStore loads the trust store of the data directory.
func trustStore(g *Globals) (dir string, t *baseline.Trust, err error) {
	if dir, err = g.dataDir(); err != nil {
		return "", nil, err
	}
	t, err = baseline.LoadTrust(dir)
	return dir, t, err
}
