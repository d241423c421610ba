package filter

import (
	"github.com/ctxguard/ctxguard/filter/jsonrpc"
)

// assemble builds what is forwarded. A frame none of whose messages failed
// or withheld an item goes out byte for byte; a message that withheld items
// has them replaced by placeholders, in place. A failed response becomes a JSON-RPC error to its
// request; a failed server request is dropped and the server is answered
// with the error instead; a failed notification is dropped. In a batch,
// the other elements keep their bytes.
func assemble(ex *Exchange) (toClient []byte, toServer [][]byte) {
	changed := false
	for _, u := range ex.Units {
		changed = changed || u.Err != nil || withholds(u)
	}
	if !changed {
		return ex.Frame, nil
	}
	parts := make([][]byte, 0, len(ex.Units))
	for _, u := range ex.Units {
		if u.Err == nil {
			parts = append(parts, rewrite(ex.Frame, u))
			continue
		}
		switch u.Msg.Kind {
		case jsonrpc.Response:
			if u.Request != nil {
				parts = append(parts, jsonrpc.ErrorResponse(u.Request.ID, u.ErrCode, u.Err.Error()))
			}
		case jsonrpc.Request:
			toServer = append(toServer, jsonrpc.ErrorResponse(u.Msg.ID.Of(ex.Frame), u.ErrCode, u.Err.Error()))
		}
	}
	if len(ex.Units) == 1 || len(parts) == 0 {
		if len(parts) == 0 {
			return nil, toServer
		}
		return parts[0], toServer
	}
	out := []byte{'['}
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, p...)
	}
	return append(out, ']'), toServer
}

func withholds(u *Unit) bool {
	for _, in := range u.Items {
		if in.Withhold {
			return true
		}
	}
	return false
}
