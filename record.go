package ctxguard

import (
	"encoding/json"
	"time"
)

// Record is the provenance of one observed item: who served it, in answer to
// what, when, and its checksums. Records are append-only; Seq orders them.
// The JSON field names are a contract (audit export, SIEMs): extend, never
// rename.
type Record struct {
	// Seq is the record's position in the store, assigned when it is stored.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Origin

	// Path is the JSON Pointer of the item inside its message.
	Path     string   `json:"path"`
	Kind     ItemKind `json:"kind"`
	MIMEType string   `json:"mime_type,omitempty"`
	// Size is the length of the decoded content in bytes.
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	XXHash64 string `json:"xxhash64"`
	Note     string `json:"note,omitempty"`

	// Verdict, Score and Findings are the detectors' judgement of the
	// item; empty when it was not scanned (binary content).
	Verdict  Verdict   `json:"verdict,omitempty"`
	Score    float64   `json:"score,omitempty"`
	Findings []Finding `json:"findings,omitempty"`

	// Baseline is the item's comparison with the signed baselines or its
	// pinned definition; nil when the item was not checked.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Decision is what the policy did with the item; empty when it made
	// no decision.
	Decision Decision `json:"decision,omitempty"`
	// QuarantineID names the review queue's item for the content, when it
	// was held (or had been rejected before).
	QuarantineID string `json:"quarantine_id,omitempty"`
	// Withheld is set when the client did not get the content (a
	// placeholder or an error instead).
	Withheld bool `json:"withheld,omitempty"`
	// LLM is the optional LLM classifier's judgement of the item; nil when
	// it was not asked (no classifier, or a detectors' score outside the
	// grey band). Score and Verdict above are then the combined judgement.
	LLM *LLMJudgement `json:"llm,omitempty"`
	// Anomaly is set on an anomaly's own record (Kind "anomaly", Message
	// "anomaly"): what an anomaly rule found unusual about the item the
	// rest of the record describes.
	Anomaly *Anomaly `json:"anomaly,omitempty"`
}

// LLMJudgement is what the LLM classifier said about an item, or why it
// said nothing. The quoted evidence is not kept here, since records never
// hold content: the classifier's finding (detector "llm") carries its span.
type LLMJudgement struct {
	// Model is the model that was asked.
	Model string `json:"model"`
	// Label is "injection" or "clean"; empty when the classifier failed.
	Label string `json:"label,omitempty"`
	// Confidence is the model's confidence in its label, 0..1.
	Confidence float64 `json:"confidence,omitempty"`
	// HeuristicScore is the detectors' own score, before the judgement was
	// combined with it.
	HeuristicScore float64 `json:"heuristic_score"`
	// EvidenceFound says whether the sentence the model quoted was found
	// in the content (then the "llm" finding spans it; otherwise the part of
	// the content the model was shown).
	EvidenceFound bool `json:"evidence_found,omitempty"`
	// Cached is set when the judgement came from the cache (no call made).
	Cached bool `json:"cached,omitempty"`
	// Calls and Tokens are what the judgement cost when it was made: the
	// requests (one per chunk of a long document) and the prompt and
	// completion tokens the endpoint reported.
	Calls  int `json:"calls,omitempty"`
	Tokens int `json:"tokens,omitempty"`
	// Error says why there is no judgement (the endpoint was unreachable,
	// too slow, refused, or answered something that is not the JSON asked
	// for). The fail stance then decided: open keeps the detectors'
	// verdict, closed holds the item.
	Error string `json:"error,omitempty"`
}

// Origin is where an item came from: the server, the session and the
// message. All items of one message share it.
type Origin struct {
	// Server names the MCP server (ctxguard wrap --name).
	Server string `json:"server"`
	// Transport is "stdio", "streamable-http" or "sse".
	Transport string `json:"transport"`
	// Session identifies the client session: one per wrap process over
	// stdio, the Mcp-Session-Id over HTTP.
	Session string `json:"session"`
	// Client is the clientInfo the client sent in initialize (or in the
	// request's _meta under the stateless protocol).
	Client          Peer   `json:"client,omitzero"`
	ProtocolVersion string `json:"protocol_version,omitempty"`

	// Message is "response", "request" (from the server, such as sampling)
	// or "notification".
	Message string `json:"message"`
	// Method is the JSON-RPC method the item answers or carries.
	Method string `json:"method,omitempty"`
	// RequestID is the JSON-RPC id exactly as it was on the wire.
	RequestID json.RawMessage `json:"request_id,omitempty"`
	// URI is the requested resource (resources/read) or the item's own URI.
	URI string `json:"uri,omitempty"`
	// Tool is the called tool (tools/call) or the defined one (tools/list).
	Tool string `json:"tool,omitempty"`
	// Prompt is the requested prompt (prompts/get) or the defined one.
	Prompt string `json:"prompt,omitempty"`
	// ArgsSHA256 is the SHA-256 of the request's arguments as they were on
	// the wire, so calls with the same arguments can be grouped without
	// storing the arguments.
	ArgsSHA256 string `json:"args_sha256,omitempty"`
	// Caller is who called, over HTTP: never the credential itself.
	Caller *Caller `json:"caller,omitempty"`
}

// Caller identifies an HTTP caller by its credential without keeping it.
type Caller struct {
	// TokenSHA256 is the SHA-256 of the Authorization header's value.
	TokenSHA256 string `json:"token_sha256"`
	// Subject is the "sub" claim when the bearer token is a JWT. It is read,
	// not verified: verifying is the upstream's business.
	Subject string `json:"subject,omitempty"`
}

// Peer names a client or server implementation.
type Peer struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}
