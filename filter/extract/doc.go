// Package extract finds every piece of content in an MCP message that
// reaches the model, and decodes it: text as the JSON string decodes, blobs
// from base64.
//
// The readers are written against the MCP schema of every revision the
// filter handles (2024-11-05 to 2026-07-28). Where a client could read a
// message in more than one way, extraction takes the union: every member
// whose name matches a schema name case-insensitively, and every duplicate,
// is extracted, so no client can be shown content the filter did not see.
// A result of a method this package has no reader for yields one item with
// all of its strings, rather than nothing.
package extract
