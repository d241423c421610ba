package httpproxy

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// The stateless revision (2026-07-28) mirrors parts of each request's body
// into HTTP headers so that intermediaries can route on them without
// reading the body (SEP-2243): Mcp-Method is the method, Mcp-Name the
// params.name of tools/call and prompts/get or the params.uri of
// resources/read, and MCP-Protocol-Version the version in params._meta.
// A server that processes the body must refuse a request whose headers
// disagree with it, with 400 Bad Request and the JSON-RPC error
// HeaderMismatch (-32020): otherwise a gateway that routes, authorizes or
// rate-limits on the header and a server that executes the body act on
// different requests. The proxy reads the body (it records and filters by
// what the body says), so it checks them itself rather than trust each
// upstream to. It never rewrites a request body, so the headers it
// forwards stay as consistent as the client made them; Mcp-Param-*
// headers, which only the tool's schema explains, pass to the upstream to
// check.
const (
	protocolVersionHeader = "Mcp-Protocol-Version"
	methodHeader          = "Mcp-Method"
	nameHeader            = "Mcp-Name"
	// statelessVersion is the first protocol version with the headers.
	statelessVersion = "2026-07-28"
	// metaProtocolVersion is the _meta member that carries the request's
	// protocol version under the stateless revision.
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	// codeHeaderMismatch is the specification's HeaderMismatch error.
	codeHeaderMismatch = -32020
)

// nameMember names the body member Mcp-Name mirrors, by method.
var nameMember = map[string]string{"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

// checkHeaders returns why the request's MCP headers disagree with its
// body (f, the body parsed: no messages when it is not JSON-RPC), or ""
// when they agree (or the request predates them). Values are read as every
// decoder could read them: a header given twice is refused (an upstream
// may take either), and a member that appears twice, or in spellings that
// differ only in case or by escapes, must agree with the header each time.
// Whether the request is stateless is not guessed from its raw bytes: the
// body is parsed whatever it holds, and every params._meta (any case, any
// duplicate) is read.
func checkHeaders(h http.Header, f jsonrpc.Frame) string {
	if hv := h.Values(protocolVersionHeader); len(hv) > 1 {
		return fmt.Sprintf("Header mismatch: %s header given %d times (%q): it takes one value", protocolVersionHeader, len(hv), strings.Join(hv, ", "))
	}
	version := h.Get(protocolVersionHeader)
	if strings.Contains(version, ",") {
		// A list in one header: an upstream may read any of its items.
		return fmt.Sprintf("Header mismatch: %s header value %q is a list: it takes one value", protocolVersionHeader, version)
	}
	for _, m := range f.Messages {
		if m.Kind != jsonrpc.Request && m.Kind != jsonrpc.Notification {
			continue
		}
		t := m.Tree
		// The version the body names, in each params and each _meta of it,
		// must be the header's whenever either is the stateless revision
		// or later.
		for params := range t.All(m.Node, "params") {
			for meta := range t.All(params, "_meta") {
				for v := range t.All(meta, metaProtocolVersion) {
					bv := t.Str(v)
					if (bv >= statelessVersion || version >= statelessVersion) && bv != version {
						return fmt.Sprintf("Header mismatch: %s header value %q does not match body value %q", protocolVersionHeader, version, bv)
					}
				}
			}
		}
		if version < statelessVersion {
			continue // an earlier revision's request: nothing is mirrored
		}
		hm := h.Values(methodHeader)
		switch {
		case len(hm) == 0 && m.Kind == jsonrpc.Request:
			return "Header mismatch: missing required " + methodHeader + " header"
		case len(hm) > 1 || len(hm) == 1 && hm[0] != m.Method:
			return fmt.Sprintf("Header mismatch: %s header value %q does not match body value %q", methodHeader, strings.Join(hm, ", "), m.Method)
		case len(hm) == 1:
			// A method given twice, or in other case: each must be it.
			for v := range t.All(m.Node, "method") {
				if t.Kind(v) != jsontree.String || t.Str(v) != hm[0] || !t.NameIs(v, "method") {
					return fmt.Sprintf("Header mismatch: %s header value %q does not match body value %s", methodHeader, hm[0], t.Raw(v))
				}
			}
		}
		member, ok := nameMember[m.Method]
		if !ok || m.Kind != jsonrpc.Request {
			continue
		}
		hn := h.Values(nameHeader)
		if len(hn) == 0 {
			return fmt.Sprintf("Header mismatch: missing required %s header for method %q", nameHeader, m.Method)
		}
		name, ok := decodeHeaderValue(hn[0])
		if len(hn) > 1 || !ok {
			return fmt.Sprintf("Header mismatch: %s header value %q is malformed", nameHeader, strings.Join(hn, ", "))
		}
		n := 0
		for params := range t.All(m.Node, "params") {
			for v := range t.All(params, member) {
				n++
				if t.Kind(v) != jsontree.String || t.Str(v) != name || !t.NameIs(v, member) {
					return fmt.Sprintf("Header mismatch: %s header value %q does not match body value %s", nameHeader, hn[0], t.Raw(v))
				}
			}
		}
		if n == 0 {
			return fmt.Sprintf("Header mismatch: %s header value %q, but the body has no params.%s", nameHeader, hn[0], member)
		}
	}
	return ""
}

// decodeHeaderValue undoes the specification's Base64 sentinel encoding
// (=?base64?…?=), with which clients carry values that are not plain
// printable ASCII.
func decodeHeaderValue(v string) (string, bool) {
	if enc, ok := strings.CutPrefix(v, "=?base64?"); ok {
		if enc, ok = strings.CutSuffix(enc, "?="); ok {
			b, err := base64.StdEncoding.DecodeString(enc)
			return string(b), err == nil
		}
	}
	return v, true
}

// headerMismatch refuses a request whose headers disagree with its body:
// 400 and a HeaderMismatch error, for the request's id when there is one.
func headerMismatch(w http.ResponseWriter, f jsonrpc.Frame, body []byte, why string) {
	id := []byte("null")
	if !f.Batch && len(f.Messages) == 1 && f.Messages[0].ID.Present() {
		id = f.Messages[0].ID.Of(body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(jsonrpc.ErrorResponse(id, codeHeaderMismatch, "ctxguard: "+why))
}
