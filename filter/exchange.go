package filter

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
	"github.com/ctxguard/ctxguard/provenance"
)

// Exchange is one frame from the server on its way through the chain.
type Exchange struct {
	Session *Session
	Frame   []byte
	// Units are the frame's messages, in order.
	Units []*Unit
	// Withheld is set when the whole frame must not reach the client (it
	// is not JSON-RPC, or it exceeded the size limit); Reply then holds
	// the responses owed to the client instead, if any.
	Withheld bool
	Reason   string
}

// Unit is one message of a frame and everything the chain learned of it.
type Unit struct {
	Msg jsonrpc.Message
	// Request is the client request a response answers, nil for messages
	// that answer none (server requests, notifications, unknown ids).
	Request *Request
	// Method is the method whose content the message carries: the
	// request's for a response.
	Method string
	Origin ctxguard.Origin
	// Items are the message's content, one Inspection each.
	Items []*Inspection
	// Err is set when a stage failed for this message: it is withheld, and
	// the client (or, for a server request, the server) gets an error.
	Err error
	// ErrCode is the JSON-RPC error code of the reply when Err is set.
	ErrCode int
}

// Inspection is one item, its provenance record and, as later stages add
// them, what they concluded.
type Inspection struct {
	Item   ctxguard.Item
	Record ctxguard.Record
	// Sums are the item's checksums, computed once by observe.
	Sums provenance.Sums
	// Withhold is set when the client must get a placeholder instead of
	// the item; FailCall when the whole tool call is to fail instead.
	Withhold, FailCall bool
}
