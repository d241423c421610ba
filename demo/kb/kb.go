// Package kb is the demo knowledge base: a handful of business documents
// shipped with ctxguard, embedded in the binary.
package kb

import "embed"

// Docs holds the documents as the demo server serves them, Markdown files at
// the root. One of them was edited by an attacker after it was published.
//
//go:embed *.md
var Docs embed.FS

// Signed holds, under signed/, the published version of each document the
// attacker changed: what the knowledge base's owner signed.
//
//go:embed signed/*.md
var Signed embed.FS
