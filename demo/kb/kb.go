// Package kb is the demo knowledge base: a handful of business documents
// shipped with ctxguard, embedded in the binary.
package kb

import "embed"

// Docs holds the documents, Markdown files at the root.
//
//go:embed *.md
var Docs embed.FS
