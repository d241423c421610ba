// Package filter is ctxguard's inline resource filter: it relays JSON-RPC
// between an MCP client and a server, knows what each server message
// answers, extracts the content that reaches the model, and runs every
// message with content through the filter chain before it is forwarded.
//
// The chain is a fixed list of stages (see chain.go), in the manner of
// CoreDNS's plugin chain: extract → observe → inspectors (baselines,
// detectors, policy) → record → act. A stage that fails stops the chain,
// and the message is withheld: the filter fails closed.
//
// The transports live in subpackages (filter/stdio); this package holds
// what they share: the Session with its table of pending requests, and
// the Filter that processes one server frame.
package filter
