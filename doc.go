// Package ctxguard holds the vocabulary of the ctxguard content guard for the
// Model Context Protocol: the items the filter observes, their provenance
// records, and the error codes it answers with.
//
// This package imports nothing but the standard library. The filter, the
// detectors, the provenance log and the store all speak in these types, and
// none of them is imported here, so that the dependencies point one way: from
// cmd/ctxguard, which wires everything, down to this package.
package ctxguard
