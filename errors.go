package ctxguard

// JSON-RPC error codes that ctxguard itself answers with. They sit in the
// implementation-defined server error range (-32000 to -32099) and away from
// the codes MCP already uses (-32002 resource not found, -32042 URL
// elicitation required), so a client can tell the guard's errors apart.
const (
	// CodeServerExited answers requests still pending when the server
	// process exited or closed its output.
	CodeServerExited = -32090
	// CodeMessageTooLarge answers a request whose response (or which
	// itself) exceeded the filter's message size limit.
	CodeMessageTooLarge = -32091
	// CodeTooManyPending answers a request sent while the filter already
	// tracks its maximum number of unanswered requests.
	CodeTooManyPending = -32092
	// CodeFilterFailed answers a request whose response could not be
	// inspected or recorded, and was withheld because the filter fails closed.
	CodeFilterFailed = -32093
	// CodeAmbiguousMessage answers a request whose response the filter
	// could not read unambiguously (duplicate or case-variant envelope
	// members), and therefore withheld.
	CodeAmbiguousMessage = -32094
	// CodeWithheld answers a request whose response the policy blocked
	// (for example, content that drifted from its signed baseline).
	CodeWithheld = -32095
)
