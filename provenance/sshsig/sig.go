package sshsig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Namespace is the SSH signature namespace of ctxguard manifests; always enforced.
const Namespace = "ctxguard-kb"

var (
	// ErrWrongNamespace is wrapped by Verify's error when the signature was
	// made for another namespace, so callers can tell a signature meant for
	// another application from a forged one.
	ErrWrongNamespace = errors.New("sshsig: signature made for another namespace")
	// ErrInvalidSignature is wrapped by Verify's error when the signature does
	// not match the message and key.
	ErrInvalidSignature = errors.New("sshsig: invalid signature")
)

const (
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	// armorWidth is the line length ssh-keygen uses, so that our signature
	// files are byte-for-byte what ssh-keygen would have written.
	armorWidth = 70

	// maxSignatureSize bounds what ParseSignature reads. The largest real
	// signature (a 16384-bit RSA certificate) is a few KiB; anything far larger
	// is an attack on the parser, not a signature.
	maxSignatureSize = 64 << 10
)

// Sign signs message with signer under Namespace (SHA-512 hash, like ssh-keygen) and returns the armored
// signature ("-----BEGIN SSH SIGNATURE-----"), byte-compatible with what `ssh-keygen -Y sign -n ctxguard-kb` writes to FILE.sig.
func Sign(message []byte, signer ssh.Signer) ([]byte, error) {
	if signer == nil || marshalKey(signer.PublicKey()) == nil {
		return nil, errors.New("sshsig: sign: no signer, or one without a usable public key")
	}
	s := signer
	if cert, ok := signer.PublicKey().(*ssh.Certificate); ok && cert.Key.Type() == ssh.KeyAlgoRSA {
		// The library picks rsa-sha2-512 only for plain RSA keys; a signer
		// holding an RSA certificate would otherwise sign with SHA-1
		// ("ssh-rsa"), which PROTOCOL.sshsig and ssh-keygen refuse.
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("sshsig: sign: RSA certificate signer cannot sign with rsa-sha2-512")
		}
		s = rsaSHA512Signer{as}
	}
	sig, err := sshsig.Sign(bytes.NewReader(message), s, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("sshsig: sign: %w", err)
	}
	return armor(sig.Marshal()), nil
}

type rsaSHA512Signer struct{ ssh.AlgorithmSigner }

func (s rsaSHA512Signer) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(rand, data, ssh.KeyAlgoRSASHA512)
}

// armor wraps the wire signature as ssh-keygen's sshsig_armor does (not as
// encoding/pem does, which wraps at 64 columns).
func armor(wire []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(wire)
	var out bytes.Buffer
	out.Grow(len(armorBegin) + len(armorEnd) + len(b64) + len(b64)/armorWidth + 4)
	out.WriteString(armorBegin + "\n")
	for len(b64) > armorWidth {
		out.WriteString(b64[:armorWidth] + "\n")
		b64 = b64[armorWidth:]
	}
	out.WriteString(b64 + "\n")
	out.WriteString(armorEnd + "\n")
	return out.Bytes()
}

// Signature is a parsed, not yet verified, armored signature.
type Signature struct {
	sig *sshsig.Signature
}

// ParseSignature parses an armored signature; bounded (refuse > 64 KiB), clear errors for bad PEM, bad base64, wrong PEM type, trailing garbage.
func ParseSignature(armored []byte) (*Signature, error) {
	if len(armored) > maxSignatureSize {
		return nil, fmt.Errorf("sshsig: signature is %d bytes, more than the %d allowed", len(armored), maxSignatureSize)
	}
	wire, err := unarmor(armored)
	if err != nil {
		return nil, err
	}
	sig, err := sshsig.ParseSignature(wire)
	if err != nil {
		return nil, fmt.Errorf("sshsig: malformed signature: %w", err)
	}
	// Only security-key signatures carry data after the signature blob (flags
	// and counter). Elsewhere it would make signatures malleable, and
	// ssh-keygen rejects it.
	if len(sig.Signature.Rest) != 0 && !isSecurityKey(sig.PublicKey) {
		return nil, errors.New("sshsig: malformed signature: trailing data after the signature blob")
	}
	return &Signature{sig: sig}, nil
}

// unarmor is stricter than encoding/pem, which skips text before the BEGIN
// line and reports every failure as "no PEM block": a signature file that is
// not exactly one armored signature is more likely a mistake (or a
// concatenation) than something to guess at, and the error should say why.
func unarmor(armored []byte) ([]byte, error) {
	lines := strings.Split(string(armored), "\n")
	i := 0
	for i < len(lines) && trimLine(lines[i]) == "" {
		i++
	}
	if i == len(lines) {
		return nil, errors.New("sshsig: empty signature")
	}
	first := trimLine(lines[i])
	if first != armorBegin {
		if typ, ok := pemLabel(first, "-----BEGIN "); ok {
			return nil, fmt.Errorf("sshsig: PEM block is %q, not an SSH SIGNATURE", typ)
		}
		return nil, fmt.Errorf("sshsig: not an armored SSH signature: line %d is not %q", i+1, armorBegin)
	}
	var body strings.Builder
	end := -1
	for j := i + 1; j < len(lines); j++ {
		l := trimLine(lines[j])
		if l == armorEnd {
			end = j
			break
		}
		if strings.HasPrefix(l, "-----") {
			return nil, fmt.Errorf("sshsig: line %d: unexpected %q inside the SSH signature", j+1, l)
		}
		body.WriteString(l)
	}
	if end < 0 {
		return nil, fmt.Errorf("sshsig: missing %q line", armorEnd)
	}
	for j := end + 1; j < len(lines); j++ {
		if trimLine(lines[j]) != "" {
			return nil, fmt.Errorf("sshsig: line %d: trailing data after %q", j+1, armorEnd)
		}
	}
	if body.Len() == 0 {
		return nil, errors.New("sshsig: empty SSH signature block")
	}
	wire, err := base64.StdEncoding.Strict().DecodeString(body.String())
	if err != nil {
		return nil, fmt.Errorf("sshsig: bad base64 in SSH signature: %w", err)
	}
	return wire, nil
}

func trimLine(s string) string { return strings.Trim(s, " \t\r") }

func pemLabel(line, prefix string) (string, bool) {
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "-----") || len(line) < len(prefix)+5 {
		return "", false
	}
	return line[len(prefix) : len(line)-5], true
}

// Key is the key that made the signature (for a certificate: the certificate).
func (s *Signature) Key() ssh.PublicKey { return s.sig.PublicKey }

// Verify checks that s is a valid signature of message under Namespace (a signature made for another namespace is rejected with an error naming both namespaces). It does not decide whether the key is trusted.
func (s *Signature) Verify(message []byte) error {
	if s == nil || s.sig == nil {
		return errors.New("sshsig: verify: no signature")
	}
	if s.sig.Namespace != Namespace {
		return fmt.Errorf("%w: signature namespace is %q, want %q", ErrWrongNamespace, s.sig.Namespace, Namespace)
	}
	switch plainType(s.sig.PublicKey) {
	case ssh.InsecureKeyAlgoDSA:
		// OpenSSH dropped DSA; its signatures are SHA-1 only.
		return fmt.Errorf("%w: DSA keys are not accepted", ErrInvalidSignature)
	case ssh.KeyAlgoRSA:
		// The library checks this for plain RSA keys only; PROTOCOL.sshsig
		// forbids SHA-1 RSA signatures for certificates too.
		if f := s.sig.Signature.Format; f != ssh.KeyAlgoRSASHA256 && f != ssh.KeyAlgoRSASHA512 {
			return fmt.Errorf("%w: RSA signature algorithm %q, want %q or %q", ErrInvalidSignature, f, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512)
		}
	}
	err := sshsig.Verify(bytes.NewReader(message), s.sig, s.sig.PublicKey, s.sig.HashAlgorithm, Namespace)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	return nil
}

// plainType is the key type under a certificate, since what a certificate
// may sign with is decided by the key it certifies.
func plainType(k ssh.PublicKey) string {
	if cert, ok := k.(*ssh.Certificate); ok {
		return cert.Key.Type()
	}
	return k.Type()
}

func isSecurityKey(k ssh.PublicKey) bool {
	t := plainType(k)
	return t == ssh.KeyAlgoSKED25519 || t == ssh.KeyAlgoSKECDSA256
}
