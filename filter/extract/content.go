package extract

import (
	"encoding/base64"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

func resourcesRead(r *reader, res node) {
	r.eachElem(res, r.path, "contents", func(c node, p string) {
		r.resourceContents(c, p)
	})
	r.inputRequests(res)
}

func toolsCall(r *reader, res node) {
	r.eachElem(res, r.path, "content", func(c node, p string) {
		r.contentBlock(c, p)
	})
	r.eachAll(res, r.path, "structuredContent", func(s node, p string) {
		b, note := r.tree.strings(s, nil)
		r.add(ctxguard.Item{Kind: ctxguard.KindStructured, Path: p, Content: b, Note: note}, s)
	})
	// Results of the 2024-11-05 revision's tools/call may also carry a
	// toolResult member; read any other strings the schema does not name.
	r.eachAll(res, r.path, "toolResult", func(s node, p string) {
		b, note := r.tree.strings(s, nil)
		r.add(ctxguard.Item{Kind: ctxguard.KindStructured, Path: p, Content: b, Note: note}, s)
	})
	r.inputRequests(res)
}

func promptsGet(r *reader, res node) {
	r.textItem(res, r.path, "description", ctxguard.KindDescription)
	r.eachElem(res, r.path, "messages", func(m node, p string) {
		r.messageContent(m, p)
	})
	r.inputRequests(res)
}

func completion(r *reader, res node) {
	r.eachAll(res, r.path, "completion", func(c node, p string) {
		r.eachAll(c, p, "values", func(v node, vp string) {
			b, note := r.tree.strings(v, nil)
			r.add(ctxguard.Item{Kind: ctxguard.KindCompletion, Path: vp, Content: b, Note: note}, v)
		})
	})
}

// messageContent reads the content of a prompt or sampling message: one
// content block, or (in sampling from 2025-11-25) an array of them.
func (r *reader) messageContent(m node, path string) {
	r.eachAll(m, path, "content", func(c node, p string) {
		if r.tree.Kind(c) == jsontree.Array {
			i := 0
			for e := range r.tree.Children(c) {
				r.contentBlock(e, at(p, i))
				i++
			}
			return
		}
		r.contentBlock(c, p)
	})
}

// contentBlock reads one content block of any of the five types. A block of
// an unknown type yields all of its strings.
func (r *reader) contentBlock(c node, path string) {
	if r.tree.Kind(c) != jsontree.Object {
		return
	}
	// A type that clients could read differently (a duplicate, or a
	// case variant a case-insensitive decoder takes) falls to the default:
	// every string of the block.
	typ, _ := r.tree.only(c, "type")
	switch typ {
	case "text":
		r.textItem(c, path, "text", ctxguard.KindText)
	case "image":
		r.mediaItem(c, path, ctxguard.KindImage)
	case "audio":
		r.mediaItem(c, path, ctxguard.KindAudio)
	case "resource_link":
		r.definition(c, path, ctxguard.KindResourceLink, "name")
	case "resource":
		r.eachAll(c, path, "resource", func(res node, p string) {
			r.resourceContents(res, p)
		})
	default:
		b, note := r.tree.strings(c, nil)
		if len(b) > 0 {
			r.add(ctxguard.Item{Kind: ctxguard.KindOther, Path: path, Content: b, Note: note}, c)
		}
	}
}

func (r *reader) mediaItem(c node, path string, kind ctxguard.ItemKind) {
	mimeType := r.tree.str(r.tree.get(c, "mimeType"))
	r.eachAll(c, path, "data", func(v node, p string) {
		if r.tree.Kind(v) != jsontree.String {
			return
		}
		b, note := r.decodeBlob(v)
		r.addIn(ctxguard.Item{Kind: kind, Path: p, MIMEType: mimeType, Content: b, Binary: true, Note: note}, v, c)
	})
}

// resourceContents reads text or blob resource contents (resources/read, or
// an embedded resource). Blobs of a textual or unknown MIME type are decoded
// and treated as text when they are valid UTF-8: a server may send a plain
// text document as a blob, and the model reads it as text all the same.
func (r *reader) resourceContents(c node, path string) {
	if r.tree.Kind(c) != jsontree.Object {
		return
	}
	uri := r.tree.str(r.tree.get(c, "uri"))
	mimeType := r.tree.str(r.tree.get(c, "mimeType"))
	// The blob is text when any reading of its type says so: a
	// case-insensitive decoder may take a "MimeType" the others ignore.
	textual := Textual(mimeType)
	for m := range r.tree.All(c, "mimeType") {
		textual = textual || Textual(r.tree.str(m))
	}
	r.eachAll(c, path, "text", func(v node, p string) {
		if r.tree.Kind(v) != jsontree.String {
			return
		}
		b, note := r.tree.text(v)
		r.add(ctxguard.Item{Kind: ctxguard.KindText, Path: p, URI: uri, MIMEType: mimeType, Content: b, Note: note}, v)
	})
	r.eachAll(c, path, "blob", func(v node, p string) {
		if r.tree.Kind(v) != jsontree.String {
			return
		}
		b, note := r.decodeBlob(v)
		binary := !(textual && utf8.Valid(b))
		r.addIn(ctxguard.Item{Kind: ctxguard.KindBlob, Path: p, URI: uri, MIMEType: mimeType, Content: b, Binary: binary, Note: note}, v, c)
	})
}

// decodeBlob decodes a base64 string the way clients do. Strict standard
// base64 is tried first; failing that, the lenient reading of Node's Buffer
// (whitespace and characters outside the alphabet ignored, URL-safe letters
// accepted, padding optional), because that is what a JavaScript client
// would hand the model.
func (r *reader) decodeBlob(v node) ([]byte, string) {
	s, note := r.tree.text(v)
	if note != "" {
		note = "blob: " + note
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err == nil {
		return out[:n], note
	}
	clean := make([]byte, 0, len(s))
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '-':
			clean = append(clean, '+')
		case c == '_':
			clean = append(clean, '/')
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // a lone trailing sextet carries no byte
	}
	// Unpadded input decodes to more bytes than StdEncoding.DecodedLen
	// allows for.
	out = make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err = base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		// Cannot happen for a cleaned input, but never lose the item:
		// record it as sent.
		return s, firstNote(note, "blob is not base64: recorded as sent")
	}
	return out[:n], firstNote(note, "blob is not valid base64: decoded leniently")
}

// Textual reports whether a MIME type is text a model would read, or
// unknown (empty or unparseable, which a client may still show as text).
func Textual(mimeType string) bool {
	if strings.TrimSpace(mimeType) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return true
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-yaml", "application/yaml", "application/toml", "application/x-toml",
		"application/sql", "application/graphql", "application/x-sh", "application/x-httpd-php",
		"application/xhtml+xml", "application/rtf", "application/x-ndjson", "application/jsonl",
		"application/octet-stream":
		// application/octet-stream is what servers send when they do not
		// know; a document inside is as readable as one with no type.
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+yaml")
}
