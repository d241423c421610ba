package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/ctxguard/ctxguard/provenance/baseline"
	"github.com/ctxguard/ctxguard/provenance/manifest"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

type signCmd struct {
	Key           string   `name:"key" required:"" placeholder:"FILE" type:"existingfile" help:"Private key to sign with (OpenSSH format, as ctxguard keygen or ssh-keygen write it). Given a public key (.pub), the manifest is written unsigned, to be signed with ssh-keygen -Y sign."`
	URIPrefix     string   `name:"uri-prefix" placeholder:"P" help:"URI prefix of the documents: each file under DIR is signed as P + its relative path, so file:///kb/ matches what a filesystem server returns. With --from-server, only resources under P are signed. A / is added when P does not end with one."`
	Out           string   `name:"out" short:"o" required:"" placeholder:"MANIFEST" type:"path" help:"Manifest to write; its signature goes to MANIFEST.sig and the signed content to MANIFEST.snapshot (for diffs)."`
	Name          string   `name:"name" placeholder:"KB" help:"Knowledge-base name (default: that of the manifest being replaced, else the directory's or server's name)."`
	Sequence      uint64   `name:"sequence" placeholder:"N" help:"Sequence number; must exceed the replaced manifest's (default: its sequence + 1, else 1)."`
	Expires       string   `name:"expires" default:"90d" placeholder:"DURATION" help:"How long the manifest is valid: 90d, 12h, 1h30m."`
	FromServer    bool     `name:"from-server" help:"Sign what an MCP server returns now (resources/list, then resources/read of each) instead of a directory: ctxguard sign ... --from-server -- CMD [ARGS...]."`
	Exclude       []string `name:"exclude" sep:"none" placeholder:"GLOB" help:"Leave files whose name (or path relative to DIR) matches GLOB out; repeatable."`
	PassphraseEnv string   `name:"passphrase-env" placeholder:"VAR" help:"Environment variable holding the key's passphrase."`
	Args          []string `arg:"" optional:"" name:"dir" help:"The directory to sign; with --from-server, the server's command line after --."`
}

func (c *signCmd) Run(ctx context.Context, g *Globals) error {
	expires, err := parseValidity(c.Expires)
	if err != nil {
		return exitCode{2, "sign: --expires: " + err.Error()}
	}
	if c.FromServer && len(c.Args) == 0 {
		return exitCode{2, "sign: --from-server needs the server's command line: ctxguard sign ... --from-server -- CMD [ARGS...]"}
	}
	if !c.FromServer {
		if len(c.Args) != 1 {
			return exitCode{2, "sign: give one directory to sign (or --from-server -- CMD)"}
		}
		if c.URIPrefix == "" {
			return exitCode{2, "sign: --uri-prefix is required when signing a directory (for example file:///kb/)"}
		}
	}
	if c.URIPrefix != "" {
		// Each file is signed as prefix + relative path: without the
		// slash, file:///kb and a.md would make file:///kba.md, which no
		// server returns and no scope covers; and from a server,
		// file:///kb would take in file:///kb-private/ too.
		if !strings.HasSuffix(c.URIPrefix, "/") {
			c.URIPrefix += "/"
		}
		if err := baseline.CheckScope(c.URIPrefix); err != nil {
			return exitCode{2, "sign: --uri-prefix: " + strings.TrimPrefix(err.Error(), "trust: ")}
		}
	}
	signer, pub, err := loadSigningKey(c.Key, c.PassphraseEnv)
	if err != nil {
		return err
	}
	prev, err := previousManifest(c.Out)
	if err != nil && c.Sequence == 0 {
		return fmt.Errorf("sign: %s exists but is not a manifest (%v): the sequence cannot continue from it; remove it, or give --sequence N above the last one published", c.Out, err)
	}
	h := baseline.Header{Name: c.Name, Sequence: c.Sequence, IssuedAt: time.Now(), Signer: sshsig.Fingerprint(pub), URIPrefix: c.URIPrefix}
	h.ExpiresAt = h.IssuedAt.Add(expires)
	if prev != nil {
		if h.Name == "" {
			h.Name = prev.Name
		}
		if h.Sequence == 0 {
			h.Sequence = prev.Sequence + 1
		}
		if h.Name == prev.Name && h.Sequence <= prev.Sequence {
			return fmt.Errorf("sign: --sequence %d does not exceed %d of the manifest it replaces (%s); filters refuse an older sequence as a rollback", h.Sequence, prev.Sequence, c.Out)
		}
	}
	if h.Sequence == 0 {
		h.Sequence = 1
	}

	b, err := baseline.NewBuilder(c.Out)
	if err != nil {
		return err
	}
	defer b.Abort()
	if c.FromServer {
		cmdline := c.Args
		if h.Name == "" {
			h.Name = serverName(cmdline)
		}
		err = c.addFromServer(ctx, g, b, cmdline)
	} else {
		if h.Name == "" {
			abs, _ := filepath.Abs(c.Args[0])
			h.Name = filepath.Base(abs)
		}
		err = c.addDir(g, b, c.Args[0])
	}
	if err != nil {
		return err
	}
	if _, err := b.Finish(h, signer); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	docs, size := b.Len()
	fmt.Fprintf(g.stdout, "%s: %s #%d, %d documents (%d bytes), expires %s\n", c.Out, h.Name, h.Sequence, docs, size, h.ExpiresAt.UTC().Format(time.RFC3339))
	if signer == nil {
		fmt.Fprintf(g.stdout, "Not signed (a public key was given). Sign it with your SSH key:\n  ssh-keygen -Y sign -n %s -f KEY %s\n", sshsig.Namespace, c.Out)
	} else {
		fmt.Fprintf(g.stdout, "signed by %s: %s%s\n", h.Signer, c.Out, baseline.SignatureSuffix)
	}
	return nil
}

// addDir signs every regular file under dir but the manifest's own files.
func (c *signCmd) addDir(g *Globals, b *baseline.Builder, dir string) error {
	own := ownFiles(c.Out)
	files, skipped, err := baseline.Walk(dir, c.URIPrefix, func(path string) bool {
		return own(path) || excluded(c.Exclude, dir, path)
	})
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	for _, p := range skipped {
		fmt.Fprintf(g.stderr, "sign: skipped %s: not a regular file\n", p)
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	bar := progress(g, total, "signing")
	if err := b.AddFiles(files, func(n int64) { _ = bar.Add64(n) }); err != nil {
		return err
	}
	_ = bar.Finish()
	return nil
}

// addFromServer signs what the server returns for each of its resources.
func (c *signCmd) addFromServer(ctx context.Context, g *Globals, b *baseline.Builder, cmdline []string) error {
	cmd := exec.CommandContext(ctx, cmdline[0], cmdline[1:]...)
	cmd.Stderr = g.stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "ctxguard-sign", Version: version}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return fmt.Errorf("sign: connect to the server: %w", err)
	}
	defer cs.Close()
	var uris []string
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			return fmt.Errorf("sign: resources/list: %w", err)
		}
		if strings.HasPrefix(r.URI, c.URIPrefix) {
			uris = append(uris, r.URI)
		}
	}
	bar := progress(g, int64(len(uris)), "reading")
	seen := map[string]bool{}
	for _, uri := range uris {
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			return fmt.Errorf("sign: resources/read %s: %w", uri, err)
		}
		for _, rc := range res.Contents {
			u := rc.URI
			if u == "" {
				u = uri
			}
			if seen[u] || !strings.HasPrefix(u, c.URIPrefix) {
				continue // a resource may repeat another's content; it is signed once
			}
			seen[u] = true
			content := rc.Blob
			if rc.Blob == nil {
				content = []byte(rc.Text)
			}
			if err := b.Add(u, rc.MIMEType, content); err != nil {
				return err
			}
		}
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	return nil
}

// loadSigningKey reads the private key, or a public key for a manifest to
// be signed with ssh-keygen (signer nil).
func loadSigningKey(path, passEnv string) (ssh.Signer, ssh.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	if pub, err := sshsig.ParsePublicKey(raw); err == nil {
		return nil, pub, nil
	}
	pass, err := passphrase(passEnv)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	signer, err := sshsig.ParsePrivateKey(raw, pass)
	if errors.Is(err, sshsig.ErrPassphraseNeeded) {
		return nil, nil, fmt.Errorf("sign: %s is encrypted: give --passphrase-env VAR, or pass the .pub and sign with ssh-keygen -Y sign -n %s", path, sshsig.Namespace)
	}
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, nil, fmt.Errorf("sign: %s: wrong passphrase (from $%s)", path, passEnv)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %s: %w", path, err)
	}
	return signer, signer.PublicKey(), nil
}

// previousManifest is the manifest at path: nil when there is no file, an
// error when there is one that is not a manifest.
func previousManifest(path string) (*manifest.Manifest, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return manifest.Parse(raw)
}

// ownFiles reports whether a path is the manifest or one of its companions.
func ownFiles(out string) func(string) bool {
	abs, _ := filepath.Abs(out)
	return func(p string) bool {
		a, _ := filepath.Abs(p)
		return a == abs || a == abs+baseline.SignatureSuffix || a == abs+baseline.SnapshotSuffix ||
			strings.HasPrefix(filepath.Base(a), "."+filepath.Base(abs)) && filepath.Dir(a) == filepath.Dir(abs) // temporary files
	}
}

func excluded(globs []string, dir, path string) bool {
	rel, _ := filepath.Rel(dir, path)
	for _, g := range globs {
		if ok, _ := filepath.Match(g, filepath.Base(path)); ok {
			return true
		}
		if ok, _ := filepath.Match(g, filepath.ToSlash(rel)); ok {
			return true
		}
	}
	return false
}

// parseValidity reads a duration that may be given in days ("90d").
func parseValidity(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 90d or 12h", s)
	}
	if d < time.Second {
		// A manifest's times are whole seconds.
		return 0, fmt.Errorf("%q is less than the least validity, 1s", s)
	}
	return d, nil
}

// progress is a progress bar on stderr, shown only when stderr is a
// terminal, so that logs and CI output stay clean.
func progress(g *Globals, max int64, what string) *progressbar.ProgressBar {
	var w io.Writer = io.Discard
	visible := false
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		w, visible = f, true
	}
	return progressbar.NewOptions64(max, progressbar.OptionSetWriter(w), progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond))
}
