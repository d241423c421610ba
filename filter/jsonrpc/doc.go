// Package jsonrpc frames and classifies JSON-RPC 2.0 messages as MCP sends
// them, without decoding what the filter does not inspect.
//
// A frame is one line of newline-delimited JSON (the stdio transport) or one
// HTTP body or SSE event. Parse locates the envelope members of each message
// in a frame (id, method, params, result, error) as byte spans of the
// original bytes, so that a relay can forward every message it does not
// change byte for byte, and decode only the members it inspects.
//
// Parse is strict where a lenient reading would let a client and the filter
// disagree about what a message says: a message whose envelope members are
// duplicated or differ only in case is marked Ambiguous, because JSON
// decoders resolve those differently (last one wins, first one wins, case
// folded or not), and a guard must never forward what it read differently
// from the client.
package jsonrpc
