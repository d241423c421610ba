package baseline

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctxguard/ctxguard/provenance/manifest"
	"github.com/ctxguard/ctxguard/provenance/sshsig"
)

// ProblemKind names why a manifest, or one of its documents, does not hold.
type ProblemKind string

// The problems Verify and CheckDir report.
const (
	ProblemSignature      ProblemKind = "bad-signature"
	ProblemUnknownSigner  ProblemKind = "unknown-signer"
	ProblemSignerMismatch ProblemKind = "signer-mismatch"
	ProblemOutOfScope     ProblemKind = "out-of-scope"
	ProblemNotYetValid    ProblemKind = "not-yet-valid"
	ProblemExpired        ProblemKind = "expired"
	ProblemRollback       ProblemKind = "rollback"
	ProblemChanged        ProblemKind = "changed"
	ProblemMissing        ProblemKind = "missing"
	ProblemAdded          ProblemKind = "added"
)

// Problem is one reason something does not hold.
type Problem struct {
	Kind   ProblemKind
	URI    string
	Detail string
}

func (p Problem) String() string {
	if p.URI != "" {
		return fmt.Sprintf("%s %s: %s", p.Kind, p.URI, p.Detail)
	}
	return fmt.Sprintf("%s: %s", p.Kind, p.Detail)
}

// ClockSkew is how far in the future a manifest's issued_at may lie.
const ClockSkew = 5 * time.Minute

// maxScopeProblems bounds how many out-of-scope URIs are named one by one.
const maxScopeProblems = 20

// Verified is a manifest whose signature was checked against a trust store.
type Verified struct {
	Manifest *manifest.Manifest
	// Digest is the SHA-256 of the manifest's bytes.
	Digest [32]byte
	// Principal is the trusted principal that signed it, when one did;
	// Key is the signing key's fingerprint.
	Principal string
	Key       string
	// Problems are why it does not hold; none when it does.
	Problems []Problem
}

// Rejected reports whether the manifest must not be trusted at all: a
// problem other than expiry. An expired manifest still says what its owner
// once signed.
func (v *Verified) Rejected() bool {
	for _, p := range v.Problems {
		if p.Kind != ProblemExpired {
			return true
		}
	}
	return false
}

// Expired reports whether the manifest's validity ended before now.
func (v *Verified) Expired(now time.Time) bool { return !now.Before(v.Manifest.ExpiresAt) }

// Reason sums the problems up in one line.
func (v *Verified) Reason() string {
	var s []string
	for _, p := range v.Problems {
		s = append(s, p.String())
		if len(s) == 3 && len(v.Problems) > 3 {
			s = append(s, fmt.Sprintf("and %d more", len(v.Problems)-3))
			break
		}
	}
	return strings.Join(s, "; ")
}

// Verify parses the manifest raw and checks its armored signature against
// trust at time now. It returns an error only when raw is not a manifest;
// everything else is a Problem of the result.
func Verify(raw, armoredSig []byte, trust *Trust, now time.Time) (*Verified, error) {
	m, err := manifest.Parse(raw)
	if err != nil {
		return nil, err
	}
	v := &Verified{Manifest: m, Digest: sha256.Sum256(raw)}
	add := func(k ProblemKind, uri, format string, args ...any) {
		v.Problems = append(v.Problems, Problem{Kind: k, URI: uri, Detail: fmt.Sprintf(format, args...)})
	}
	sig, err := sshsig.ParseSignature(armoredSig)
	if err != nil {
		add(ProblemSignature, "", "%v", err)
		return v, nil
	}
	v.Key = sshsig.Fingerprint(sig.Key())
	if err := sig.Verify(raw); err != nil {
		add(ProblemSignature, "", "%v", err)
		return v, nil
	}
	principals := sshsig.Authorize(trust.Signers, sig.Key(), sshsig.Namespace, now)
	if len(principals) == 0 {
		add(ProblemUnknownSigner, "", "key %s is not in the trust store for namespace %s", v.Key, sshsig.Namespace)
		return v, nil
	}
	v.Principal = principals[0]
	// The manifest names its signer; a certificate signs with the
	// certificate's own key, so either fingerprint may be named.
	if m.Signer != v.Key && m.Signer != sshsig.Fingerprint(underlyingKey(sig.Key())) {
		add(ProblemSignerMismatch, "", "the manifest names signer %s but was signed by %s", m.Signer, v.Key)
	}
	if !trust.Unscoped {
		var scopes []string
		for _, p := range principals {
			scopes = append(scopes, trust.Scopes[p]...)
		}
		var out []string
		for i := range m.Entries {
			if !Covers(scopes, m.Entries[i].URI) {
				out = append(out, m.Entries[i].URI)
			}
		}
		for i, uri := range out {
			if i == maxScopeProblems {
				add(ProblemOutOfScope, "", "and %d more URIs outside the scopes of %s", len(out)-i, strings.Join(principals, ", "))
				break
			}
			add(ProblemOutOfScope, uri, "outside the scopes of %s (%s)", strings.Join(principals, ", "), scopeList(scopes))
		}
	}
	if m.IssuedAt.After(now.Add(ClockSkew)) {
		add(ProblemNotYetValid, "", "issued at %s, in the future", m.IssuedAt.Format(time.RFC3339))
	}
	if v.Expired(now) {
		add(ProblemExpired, "", "expired at %s", m.ExpiresAt.Format(time.RFC3339))
	}
	return v, nil
}

// underlyingKey is a certificate's own key, or the key itself.
func underlyingKey(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

func scopeList(s []string) string {
	if len(s) == 0 {
		return "no scopes"
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return "scopes " + strings.Join(slices.Compact(s), " ")
}
