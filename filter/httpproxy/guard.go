package httpproxy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ctxguard/ctxguard"
)

// callerOf identifies who called by the Authorization header, without
// keeping it: its SHA-256, and the subject claim of a JWT bearer token
// (read, not verified: the upstream decides what the token is worth).
func callerOf(r *http.Request) *ctxguard.Caller {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(auth))
	c := &ctxguard.Caller{TokenSHA256: hex.EncodeToString(sum[:])}
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
		c.Subject = jwtSubject(tok)
	}
	return c
}

// maxSubject bounds the subject kept from a token.
const maxSubject = 256

func jwtSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.Sub) > maxSubject {
		return ""
	}
	return claims.Sub
}

// hostGuard keeps web pages from reaching the proxy through names it does
// not serve (DNS rebinding): a request's Host must be one of the proxy's
// names, and its Origin, when it has one, must be an allowed origin or
// name an allowed host.
type hostGuard struct {
	hosts   []string // host names, without ports; empty: any
	origins []string // scheme://host[:port]
}

// LoopbackHosts are the names a proxy listening on loopback answers to by
// default.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

func (g *hostGuard) allows(r *http.Request) bool {
	if len(g.hosts) > 0 && !slices.Contains(g.hosts, hostName(r.Host)) {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-origin request
	}
	if slices.Contains(g.origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(g.hosts) == 0 {
		return hostName(u.Host) == hostName(r.Host)
	}
	return slices.Contains(g.hosts, hostName(u.Host))
}

// hostName is host without its port, lower case.
func hostName(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}
