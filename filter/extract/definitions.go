package extract

import (
	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/filter/jsontree"
)

// Definitions (tools, resources, templates, prompts) are rendered as lines
// of "field: value", one per string the model can read, in document order.
// The rendering is what is hashed and scanned: a change in any description,
// title or schema string changes the hash and shows up as a one-line diff.

func toolsList(r *reader, res node) {
	r.eachElem(res, r.path, "tools", func(t node, p string) {
		r.definition(t, p, ctxguard.KindTool, "name")
	})
}

func resourcesList(r *reader, res node) {
	r.eachElem(res, r.path, "resources", func(d node, p string) {
		r.definition(d, p, ctxguard.KindResource, "name")
	})
}

func templatesList(r *reader, res node) {
	r.eachElem(res, r.path, "resourceTemplates", func(d node, p string) {
		r.definition(d, p, ctxguard.KindTemplate, "name")
	})
}

func promptsList(r *reader, res node) {
	r.eachElem(res, r.path, "prompts", func(d node, p string) {
		r.definition(d, p, ctxguard.KindPrompt, "name")
	})
}

// definition adds one item for a definition object: every string in it but
// _meta, each on a line prefixed by its path relative to the object.
func (r *reader) definition(d node, path string, kind ctxguard.ItemKind, nameField string) {
	if r.tree.Kind(d) != jsontree.Object {
		return
	}
	var buf []byte
	var note string
	r.renderFields(d, "", &buf, &note)
	it := ctxguard.Item{
		Kind:     kind,
		Path:     path,
		Name:     r.tree.str(r.tree.get(d, nameField)),
		URI:      firstNonEmpty(r.tree.str(r.tree.get(d, "uri")), r.tree.str(r.tree.get(d, "uriTemplate"))),
		MIMEType: r.tree.str(r.tree.get(d, "mimeType")),
		Content:  buf,
		Note:     note,
	}
	r.add(it, d)
}

func (r *reader) renderFields(n node, prefix string, buf *[]byte, note *string) {
	switch r.tree.Kind(n) {
	case jsontree.Object:
		for c := range r.tree.Children(n) {
			name := r.tree.Name(c)
			if name == "_meta" {
				continue
			}
			p := name
			if prefix != "" {
				p = prefix + "." + name
			}
			if !plainName(name) {
				r.line(buf, prefix+" (name)", []byte(name))
			}
			r.renderFields(c, p, buf, note)
		}
	case jsontree.Array:
		for e := range r.tree.Children(n) {
			r.renderFields(e, prefix+"[]", buf, note)
		}
	case jsontree.String:
		b, nt := r.tree.text(n)
		if *note == "" {
			*note = nt
		}
		r.line(buf, prefix, b)
	}
}

func (r *reader) line(buf *[]byte, key string, value []byte) {
	*buf = append(*buf, key...)
	*buf = append(*buf, ": "...)
	*buf = append(*buf, value...)
	*buf = append(*buf, '\n')
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
