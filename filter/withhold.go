package filter

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ctxguard/ctxguard"
)

// Placeholder is the text a withheld item is replaced by. It says, in
// generic words, that the content is in review and where; never which rule
// fired, so that the model is not coached to evade.
func Placeholder(id string) string {
	return "[ctxguard] This content was withheld for review (quarantine id " + id + "). Ask an administrator if you need it."
}

// edit replaces frame[start:end] with b.
type edit struct {
	start, end int
	b          []byte
}

// rewrite returns the unit's message with its withheld items replaced in
// place; every other byte is the server's.
func rewrite(frame []byte, u *Unit) []byte {
	msg := u.Msg.Span
	var held []*Inspection
	failCall := false
	for _, in := range u.Items {
		if !in.Withhold {
			continue
		}
		held = append(held, in)
		// structuredContent has to match the tool's output schema, which a
		// placeholder cannot: the call fails instead, as does any call
		// whose policy says so.
		failCall = failCall || (isToolResult(u.Method) && (in.FailCall || in.Item.Kind == ctxguard.KindStructured))
	}
	if len(held) == 0 {
		return msg.Of(frame)
	}
	var edits []edit
	if failCall && u.Msg.Result.Present() {
		var text []byte
		for i, in := range held {
			if i > 0 {
				text = append(text, ' ')
			}
			text = append(text, Placeholder(in.Record.QuarantineID)...)
		}
		b := append([]byte(`{"content":[{"type":"text","text":`), quote(string(text))...)
		edits = append(edits, edit{u.Msg.Result.Start, u.Msg.Result.End, append(b, `}],"isError":true}`...)})
	} else {
		for _, in := range held {
			edits = append(edits, replacement(frame, &in.Item, Placeholder(in.Record.QuarantineID)))
		}
	}
	return apply(frame, msg.Start, msg.End, edits)
}

// logLevels are the levels of notifications/message.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

func isToolResult(method string) bool { return method == "tools/call" }

// replacement is the edit that puts a text placeholder where the item was,
// in the shape its place in the message asks for.
func replacement(frame []byte, it *ctxguard.Item, text string) edit {
	t := quote(text)
	obj := func(members ...string) []byte {
		b := []byte{'{'}
		for i := 0; i < len(members); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, quote(members[i])...)
			b = append(b, ':')
			b = append(b, members[i+1]...)
		}
		return append(b, '}')
	}
	e := edit{start: it.Start, end: it.End}
	switch it.Kind {
	case ctxguard.KindBlob:
		e.start, e.end = it.OuterStart, it.OuterEnd
		e.b = obj("uri", string(quote(it.URI)), "mimeType", `"text/plain"`, "text", string(t))
	case ctxguard.KindImage, ctxguard.KindAudio, ctxguard.KindResourceLink:
		if it.OuterEnd > 0 {
			e.start, e.end = it.OuterStart, it.OuterEnd
		}
		e.b = obj("type", `"text"`, "text", string(t))
	case ctxguard.KindTool:
		e.b = obj("name", string(quote(it.Name)), "description", string(t), "inputSchema", `{"type":"object"}`)
	case ctxguard.KindResource:
		e.b = obj("uri", string(quote(it.URI)), "name", string(quote(it.Name)), "description", string(t))
	case ctxguard.KindTemplate:
		e.b = obj("uriTemplate", string(quote(it.URI)), "name", string(quote(it.Name)), "description", string(t))
	case ctxguard.KindPrompt:
		e.b = obj("name", string(quote(it.Name)), "description", string(t))
	case ctxguard.KindError:
		// The error object of a JSON-RPC response: it keeps the server's
		// code (when it is one) so that the client still reads an error.
		var v struct{ Code int }
		code := ctxguard.CodeWithheld
		if json.Unmarshal(frame[it.Start:it.End], &v) == nil && v.Code != 0 {
			code = v.Code
		}
		e.b = obj("code", strconv.Itoa(code), "message", string(t))
	case ctxguard.KindLog:
		// The params of notifications/message: a level and the data.
		var v struct{ Level string }
		level := "warning"
		if json.Unmarshal(frame[it.Start:it.End], &v) == nil && slices.Contains(logLevels, v.Level) {
			level = v.Level
		}
		e.b = obj("level", string(quote(level)), "data", string(t))
	case ctxguard.KindElicitation:
		// The params of elicitation/create: a message and a form, here an
		// empty one.
		e.b = obj("message", string(t), "requestedSchema", `{"type":"object","properties":{}}`)
	default:
		// A string stays a string, an array of values an array, and any
		// other object (an unknown content block) becomes a text block.
		switch frame[it.Start] {
		case '[':
			e.b = append(append([]byte{'['}, t...), ']')
		case '{':
			if it.Kind == ctxguard.KindSampling {
				// A tool definition offered for sampling.
				e.b = obj("name", string(quote(it.Name)), "description", string(t), "inputSchema", `{"type":"object"}`)
				break
			}
			e.b = obj("type", `"text"`, "text", string(t))
		default:
			e.b = t
		}
	}
	if e.end <= e.start { // no outer span recorded: replace the item's own value
		e.start, e.end = it.Start, it.End
	}
	return e
}

// apply returns frame[from:to] with the edits made; an edit inside an
// earlier one is dropped.
func apply(frame []byte, from, to int, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	pos := from
	for _, e := range edits {
		if e.start < pos {
			continue
		}
		out.Write(frame[pos:e.start])
		out.Write(e.b)
		pos = e.end
	}
	out.Write(frame[pos:to])
	return out.Bytes()
}

func quote(s string) []byte {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}
