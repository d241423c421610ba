// Package stdio runs an MCP server as a child process and relays its stdio
// transport through the filter: newline-delimited JSON-RPC on the child's
// stdin and stdout, its stderr passed through.
//
// Frames from the server are correlated in arrival order, processed
// concurrently (so that concurrent responses share one group commit of
// their records), and written to the client in arrival order. A window
// bounds the frames in flight by count and by bytes, so memory does not
// grow with the traffic.
package stdio
