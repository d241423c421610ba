// Package jsontree parses JSON into a compact tree of byte spans, in one pass
// and with almost no allocation, and decodes strings only when asked.
//
// The filter's hot path reads every message a server sends, most of them
// carrying large strings (documents) that it must locate, decode once and
// hash. A general decoder scans each string several times (validate, then
// copy, then unescape); here the structure is found with a fast search for
// the closing quote of each string, and a string's escapes and UTF-8 are
// handled once, by Text, for the strings the filter reads.
//
// Parse checks the grammar of everything outside strings (objects, arrays,
// numbers, literals, separators) exactly, and inside strings only where they
// end. Strings it is never asked to decode are forwarded as they came, and
// the client's own parser judges them. Nesting is bounded, and parsing is
// iterative, so hostile input cannot exhaust the stack.
package jsontree
