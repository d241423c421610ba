package jsonrpc

import (
	"strconv"

	"encoding/json"
)

// ErrorResponse returns a JSON-RPC error response to the request with the
// given raw id, without a trailing newline. A missing id becomes null, as
// JSON-RPC asks when the id could not be determined.
func ErrorResponse(id []byte, code int, message string) []byte {
	if len(id) == 0 {
		id = []byte("null")
	}
	b := make([]byte, 0, 64+len(id)+len(message))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	q, _ := json.Marshal(message) // a string always encodes; invalid UTF-8 is replaced
	b = append(b, q...)
	b = append(b, "}}"...)
	return b
}
