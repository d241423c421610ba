// Package demo is ctxguard's demonstration: a small knowledge-base MCP
// server (also used by the tests as a real peer) and the scripted client
// session that reads it through the filter.
package demo
