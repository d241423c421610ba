package sshsig

import (
	"bytes"
	"time"

	"golang.org/x/crypto/ssh"
)

// Authorize decides which principals of the allowed signers may have made a signature with key for namespace at time t:
//   - a plain key line matches when the key is equal (compare marshalled bytes) and the line is not cert-authority;
//   - a cert-authority line matches a *ssh.Certificate key whose SignatureKey equals the line's key, that is a user certificate, valid at t (ValidAfter/ValidBefore of the cert), whose signature checks, and the principal returned is each of the cert's ValidPrincipals that matches the line's principal patterns;
//   - namespaces= (pattern list) must match namespace; valid-after/valid-before must hold at t.
//
// Patterns follow OpenSSH match_pattern_list: comma-separated, `*` and `?` wildcards, `!` negation (a negated match rejects).
// Returns the matching principals (plain line: every non-negated principal pattern of the line literally as written), deduplicated, in file order; empty when none.
//
// It does not verify the signature; call Signature.Verify first. A
// certificate's critical options are not understood here, so a certificate
// carrying any (force-command, source-address, ...) is refused: the
// certificate format requires that, though ssh-keygen -Y verify ignores them.
// A certificate without principals is refused too, as ssh-keygen does,
// rather than read as valid for everyone.
func Authorize(signers []AllowedSigner, key ssh.PublicKey, namespace string, t time.Time) []string {
	keyBytes := marshalKey(key)
	if keyBytes == nil {
		return nil
	}
	cert, _ := key.(*ssh.Certificate)
	now := t.Unix()

	var out []string
	seen := make(map[string]bool)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, a := range signers {
		lineKey := marshalKey(a.Key)
		if lineKey == nil {
			continue
		}
		if a.Namespaces != "" && matchPatternList(namespace, a.Namespaces) != 1 {
			continue
		}
		// Whole seconds, as ssh-keygen compares; a sub-second bound is
		// rounded so that the window only narrows.
		if !a.ValidAfter.IsZero() && now < ceilUnix(a.ValidAfter) {
			continue
		}
		if !a.ValidBefore.IsZero() && now > a.ValidBefore.Unix() {
			continue
		}
		if !a.CertAuthority {
			if !bytes.Equal(lineKey, keyBytes) {
				continue
			}
			pats, ok := splitPatternList(a.Principals)
			if !ok {
				continue
			}
			for _, p := range pats {
				if !p.negated && p.pattern != "" {
					add(p.pattern)
				}
			}
			continue
		}
		if !certifiedBy(cert, lineKey, t) {
			continue
		}
		for _, p := range cert.ValidPrincipals {
			if p != "" && matchPatternList(p, a.Principals) == 1 {
				add(p)
			}
		}
	}
	return out
}

func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() != 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// certifiedBy reports whether cert is a user certificate signed by ca and
// valid at t.
func certifiedBy(cert *ssh.Certificate, ca []byte, t time.Time) bool {
	if cert == nil || cert.CertType != ssh.UserCert {
		return false
	}
	if !bytes.Equal(marshalKey(cert.SignatureKey), ca) {
		return false
	}
	// CertChecker treats an empty principal list as "any principal".
	if len(cert.ValidPrincipals) == 0 {
		return false
	}
	checker := ssh.CertChecker{Clock: func() time.Time { return t }}
	return checker.CheckCert(cert.ValidPrincipals[0], cert) == nil
}

// marshalKey is key.Marshal, except that it is nil for a nil key and for a
// certificate that was never signed, on which Marshal would panic; such a key
// matches nothing.
func marshalKey(k ssh.PublicKey) []byte {
	if k == nil {
		return nil
	}
	if c, ok := k.(*ssh.Certificate); ok {
		if c == nil || c.Signature == nil || marshalKey(c.Key) == nil || marshalKey(c.SignatureKey) == nil {
			return nil
		}
	}
	return k.Marshal()
}

type subPattern struct {
	negated bool
	pattern string
}

// splitPatternList splits a pattern list as OpenSSH's match_pattern_list
// walks it (so ",a" has an empty first element but "a," no empty last one).
// ok is false when a sub-pattern is too long for OpenSSH, which then matches
// nothing at all.
func splitPatternList(list string) (pats []subPattern, ok bool) {
	for i := 0; i < len(list); {
		var p subPattern
		if list[i] == '!' {
			p.negated = true
			i++
		}
		j := i
		for j < len(list) && list[j] != ',' {
			j++
		}
		p.pattern = list[i:j]
		if len(p.pattern) > maxPatternLength {
			return nil, false
		}
		pats = append(pats, p)
		i = j
		if i < len(list) {
			i++ // the comma
		}
	}
	return pats, true
}

// matchPatternList returns 1 when s matches a pattern of list and no negated
// one, -1 when it matches a negated pattern, and 0 otherwise, as OpenSSH's
// match_pattern_list (case-sensitive, as sshsig uses it).
func matchPatternList(s, list string) int {
	pats, ok := splitPatternList(list)
	if !ok {
		return 0
	}
	got := 0
	for _, p := range pats {
		if matchPattern(s, p.pattern) {
			if p.negated {
				return -1
			}
			got = 1
		}
	}
	return got
}

// matchPattern is OpenSSH's match_pattern (bytewise; '*' any run, '?' any one
// byte), written with one backtracking point instead of recursion so a
// pattern of many stars costs O(len(s)*len(p)) rather than exponential time.
func matchPattern(s, p string) bool {
	si, pi := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, starS = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			starS++
			si, pi = starS, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
