// Package detectors scores content for prompt injection and context
// poisoning.
//
// An Engine runs a fixed list of Detectors (registry.go) over one normalised
// view of each document (package normalize): every keyword of every rule of
// every detector is found in a single Aho-Corasick pass, and a detector runs
// only when one of its keywords hit, confirming the candidate region with
// its own regular expressions. Detectors that look at structure rather than
// words (hidden text, exfiltration URLs) run on every document. Encoded
// payloads (base64, hex, percent-encoding, rot13) are decoded, bounded in
// depth and size, and scanned again by the same engine.
//
// Rules are data: each detector family keeps its rules, with examples that
// must and must not fire, in an embedded TOML file, and a user's rule file
// can add rules or replace one by id.
//
// Scoring (score.go): each finding weighs by its severity (low 0.15,
// medium 0.35, high 0.65, critical 0.9); a finding quoted as an example in a
// document about attacks weighs a third; the strongest finding of each rule
// counts once; and the document's score is the noisy-OR of those weights,
// 1 − Π(1 − w). A document is suspicious when its score reaches the
// threshold (0.5 by default): one high finding, or two of medium.
package detectors
