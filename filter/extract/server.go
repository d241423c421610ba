package extract

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// Requests and notifications the server sends, which reach the model or the
// user: sampling asks the client's model to complete a conversation the
// server wrote; elicitation shows the user a message and a form.

func sampling(r *reader, params node) {
	r.eachElem(params, r.path, "messages", func(m node, p string) {
		r.messageContent(m, p)
	})
	r.textItem(params, r.path, "systemPrompt", ctxguard.KindSampling)
	// Sampling with tools (2025-11-25) hands the client's model the tool
	// definitions too. They are the server's words to the model, not its
	// tools/list, so they are sampling items.
	r.eachElem(params, r.path, "tools", func(t node, p string) {
		r.definition(t, p, ctxguard.KindSampling, "name")
	})
}

func elicitation(r *reader, params node) {
	var buf []byte
	var note string
	r.renderFields(params, "", &buf, &note)
	if len(buf) > 0 {
		r.add(ctxguard.Item{Kind: ctxguard.KindElicitation, Path: r.path, Content: buf, Note: note}, params)
	}
}

func logMessage(r *reader, params node) {
	b, note := r.tree.strings(params, nil)
	if len(b) > 0 {
		r.add(ctxguard.Item{Kind: ctxguard.KindLog, Path: r.path, Content: b, Note: note}, params)
	}
}

func progress(r *reader, params node) {
	r.textItem(params, r.path, "message", ctxguard.KindProgress)
}

// inputRequests reads the server requests that the stateless revision
// (2026-07-28) carries inside a result instead of sending them: a map of
// ids to {method, params}.
func (r *reader) inputRequests(res node) {
	r.eachAll(res, r.path, "inputRequests", func(m node, p string) {
		if r.tree.Kind(m) != jsontree.Object {
			return
		}
		for req := range r.tree.Children(m) {
			// A method clients could read differently is read as unknown:
			// all of its strings.
			method, _ := r.tree.only(req, "method")
			read := paramReaders[method]
			if read == nil {
				read = func(r *reader, n node) { otherStrings(r, n) }
			}
			saved := r.path
			r.eachAll(req, at(p, r.tree.Name(req)), "params", func(params node, pp string) {
				r.path = pp
				read(r, params)
			})
			r.path = saved
		}
	})
}
