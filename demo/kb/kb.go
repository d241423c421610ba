// Package kb is the demo knowledge base: a handful of business documents
// shipped with ctxguard, embedded in the binary.
package kb

import "embed"

// Docs holds the documents as the demo server serves them, Markdown files at
// the root: most as their owner signed them; two edited by an attacker
// since (one with a prompt injection, one with a quietly weakened payment
// rule that no detector would flag); one published after the last signing.
//
//go:embed *.md
var Docs embed.FS

// Signed holds, under signed/, the published version of each document the
// attacker changed: what the knowledge base's owner signed.
//
//go:embed signed/*.md
var Signed embed.FS
