package normalize

import (
	"bytes"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// New normalises a document. HTML (or Markdown with HTML in it) is read
// through its markup; anything else as text.
func New(src []byte) *Text {
	b := newBuilder(src)
	if looksHTML(src) {
		b.t.Stats.HTML = true
		readHTML(b)
	} else {
		b.text(0, len(src))
		markdownComments(b)
	}
	t := b.done()
	t.Links = links(src, t.Links)
	return t
}

var htmlHints = [][]byte{[]byte("<!--"), []byte("<html"), []byte("<body"), []byte("<div"), []byte("<span"), []byte("<p>"), []byte("<p "), []byte("<img"), []byte("<font"), []byte("<a "), []byte("<table"), []byte("<br"), []byte("<!DOCTYPE"), []byte("<!doctype"), []byte("<td"), []byte("<li"), []byte("<section"), []byte("<style")}

func looksHTML(src []byte) bool {
	if bytes.IndexByte(src, '<') < 0 {
		return false
	}
	for _, h := range htmlHints {
		if bytes.Contains(src, h) {
			return true
		}
	}
	return false
}

// blockTags separate words: text on either side does not run together.
var blockTags = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Tr: true, atom.Td: true, atom.Th: true,
	atom.Table: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Nav: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true,
	atom.Body: true, atom.Head: true, atom.Title: true, atom.Option: true, atom.Dd: true, atom.Dt: true, atom.Main: true, atom.Aside: true,
}

// voidTags have no end tag, so they never open a hidden region.
var voidTags = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true, atom.Embed: true, atom.Hr: true, atom.Img: true, atom.Input: true,
	atom.Link: true, atom.Meta: true, atom.Source: true, atom.Track: true, atom.Wbr: true,
}

// textAttrs are attributes whose values a model reads as prose though a
// browser shows them only on hover, to screen readers, or not at all.
var textAttrs = map[string]bool{
	"alt": true, "title": true, "aria-label": true, "aria-description": true, "placeholder": true,
	"content": true, "label": true, "summary": true, "value": true,
}

type frame struct {
	tag    string
	hidden string // why this element hides its content, or ""
}

func readHTML(b *builder) {
	src := b.t.Src
	z := html.NewTokenizer(bytes.NewReader(src))
	var stack []frame
	hiddenReason := func() string {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].hidden != "" {
				return stack[i].hidden
			}
		}
		return ""
	}
	off := 0
	for {
		tt := z.Next()
		raw := z.Raw()
		start := off
		off += len(raw)
		switch tt {
		case html.ErrorToken:
			if off < len(src) { // the tokenizer stopped early: read the rest as text
				b.text(off, len(src))
			}
			return
		case html.TextToken:
			// Text with no '&' has no character reference, and htmlText
			// would copy it as text does: the tokenizer's decoded Text
			// (a pass to convert newlines, one to unescape) is asked for
			// only when there is one.
			plain := bytes.IndexByte(raw, '&') < 0 || bytes.Equal(z.Text(), raw)
			reason := hiddenReason()
			if len(stack) > 0 && (stack[len(stack)-1].tag == "script" || stack[len(stack)-1].tag == "style") && reason == "" {
				reason = stack[len(stack)-1].tag
			}
			b.region(reason, func() {
				if plain {
					b.text(start, off)
				} else {
					b.htmlText(start, off)
				}
			})
		case html.CommentToken:
			b.space(start, start)
			b.region("HTML comment", func() {
				if bytes.HasPrefix(raw, []byte("<!--")) && bytes.HasSuffix(raw, []byte("-->")) && len(raw) >= 7 {
					b.text(start+4, off-3)
				} else {
					b.decoded(z.Text(), start, off)
				}
			})
			b.space(off, off)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			a := atom.Lookup(name)
			if blockTags[a] {
				b.space(start, start)
			}
			hidden := ""
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				k := string(key)
				switch {
				case k == "style":
					if r := hiddenByStyle(string(val)); r != "" {
						hidden = r
					}
				case k == "hidden":
					hidden = "hidden attribute"
				case k == "aria-hidden" && strings.EqualFold(string(val), "true"):
					hidden = "aria-hidden"
				case (k == "href" || k == "src") && len(val) > 0:
					if i := bytes.Index(raw, val); i >= 0 {
						b.t.Links = append(b.t.Links, Link{URL: string(val), Start: start + i, End: start + i + len(val), Image: a == atom.Img})
					} else {
						b.t.Links = append(b.t.Links, Link{URL: string(val), Start: start, End: off, Image: a == atom.Img})
					}
				}
				if (textAttrs[k] || strings.HasPrefix(k, "data-")) && len(bytes.TrimSpace(val)) > 0 {
					b.space(start, start)
					b.region("attribute "+k, func() {
						if i := bytes.Index(raw, val); i >= 0 {
							b.text(start+i, start+i+len(val))
						} else {
							b.decoded(val, start, off)
						}
					})
					b.space(off, off)
				}
			}
			if a == atom.Template || a == atom.Noscript {
				hidden = tag + " element"
			}
			if tt == html.StartTagToken && !voidTags[a] {
				stack = append(stack, frame{tag: tag, hidden: hidden})
				if len(stack) > 256 {
					stack = stack[1:] // unbalanced markup: forget the oldest
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].tag == tag {
					stack = stack[:i]
					break
				}
			}
			if blockTags[atom.Lookup(name)] {
				b.space(off, off)
			}
		}
	}
}

// htmlText appends src[start:end], HTML text with character references:
// each reference is decoded and mapped to its own bytes, the text between
// them byte for byte.
func (b *builder) htmlText(start, end int) {
	src := b.t.Src
	for start < end {
		amp := bytes.IndexByte(src[start:end], '&')
		if amp < 0 {
			b.text(start, end)
			return
		}
		b.text(start, start+amp)
		p := start + amp
		semi := bytes.IndexByte(src[p:min(end, p+40)], ';')
		if semi < 0 {
			b.text(p, p+1)
			start = p + 1
			continue
		}
		ref := src[p : p+semi+1]
		dec := html.UnescapeString(string(ref))
		if dec == string(ref) {
			b.text(p, p+1)
			start = p + 1
			continue
		}
		b.decoded([]byte(dec), p, p+semi+1)
		start = p + semi + 1
	}
}

// region runs emit and records what it appended as hidden, when reason is
// set.
func (b *builder) region(reason string, emit func()) {
	start := len(b.t.Norm)
	emit()
	if reason != "" && len(b.t.Norm) > start {
		b.t.Hidden = append(b.t.Hidden, Region{Start: start, End: len(b.t.Norm), Reason: reason})
	}
}

var (
	styleDecl    = regexp.MustCompile(`([a-z-]+)\s*:\s*([^;]+)`)
	zeroSize     = regexp.MustCompile(`^0*(\.0+)?(px|pt|em|rem|%|vw|vh)?$`)
	farOffscreen = regexp.MustCompile(`^-\s*\d{3,}`)
)

// hiddenByStyle says why an inline style hides its element, or "".
func hiddenByStyle(style string) string {
	decl := map[string]string{}
	for _, m := range styleDecl.FindAllStringSubmatch(strings.ToLower(style), -1) {
		decl[m[1]] = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[2]), "!important"))
	}
	switch {
	case decl["display"] == "none":
		return "display:none"
	case decl["visibility"] == "hidden" || decl["visibility"] == "collapse":
		return "visibility:hidden"
	case decl["font-size"] != "" && zeroSize.MatchString(decl["font-size"]):
		return "zero font size"
	case decl["opacity"] != "" && zeroSize.MatchString(decl["opacity"]):
		return "opacity:0"
	case decl["color"] == "transparent":
		return "transparent text"
	}
	bg := decl["background-color"]
	if bg == "" {
		bg = decl["background"]
	}
	if c := decl["color"]; c != "" && bg != "" && sameColor(c, bg) {
		return "text the colour of its background"
	}
	for _, k := range []string{"left", "top", "text-indent", "margin-left", "right"} {
		if farOffscreen.MatchString(decl[k]) {
			return "positioned off-screen"
		}
	}
	if (decl["height"] != "" && zeroSize.MatchString(decl["height"]) || decl["max-height"] != "" && zeroSize.MatchString(decl["max-height"]) ||
		decl["width"] != "" && zeroSize.MatchString(decl["width"])) && decl["overflow"] == "hidden" {
		return "zero-size box"
	}
	if strings.HasPrefix(decl["clip"], "rect(0") || strings.Contains(decl["clip-path"], "inset(100%") || strings.Contains(decl["clip-path"], "inset(50%") {
		return "clipped away"
	}
	return ""
}

var namedColors = map[string]string{
	"white": "#ffffff", "black": "#000000", "red": "#ff0000", "green": "#008000", "blue": "#0000ff",
	"yellow": "#ffff00", "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0",
}

func sameColor(a, b string) bool {
	return canonColor(a) == canonColor(b)
}

func canonColor(c string) string {
	c = strings.ReplaceAll(strings.TrimSpace(c), " ", "")
	if n, ok := namedColors[c]; ok {
		return n
	}
	if len(c) == 4 && c[0] == '#' {
		return "#" + string([]byte{c[1], c[1], c[2], c[2], c[3], c[3]})
	}
	switch c {
	case "rgb(255,255,255)":
		return "#ffffff"
	case "rgb(0,0,0)":
		return "#000000"
	}
	return c
}

// markdownComments marks Markdown's comment idiom, [//]: # (text), and HTML
// comments in text that is not read as HTML, as hidden regions. Their
// offsets are found in Src and mapped to Norm.
func markdownComments(b *builder) {
	src := b.t.Src
	for _, marker := range [][]byte{[]byte("[//]: #"), []byte("[comment]: #"), []byte("[//]: <>")} {
		for i := 0; ; {
			j := bytes.Index(src[i:], marker)
			if j < 0 {
				break
			}
			s := i + j
			e := bytes.IndexByte(src[s:], '\n')
			if e < 0 {
				e = len(src) - s
			}
			b.t.hideSrc(s, s+e, "Markdown comment")
			i = s + e
		}
	}
}

// hideSrc marks the Norm range that came from Src[s:e] as hidden.
func (t *Text) hideSrc(s, e int, reason string) {
	ns, ne := -1, -1
	// Norm is at most as long as Src plus folds; a linear search over the
	// anchors is enough for the rare comment.
	for i, a := range t.anchors {
		end := len(t.Norm)
		if i+1 < len(t.anchors) {
			end = t.anchors[i+1].out
		}
		for o := a.out; o < end; o++ {
			p := a.src
			if a.exact {
				p = a.src + (o - a.out)
			}
			if p >= s && p < e {
				if ns < 0 {
					ns = o
				}
				ne = o + 1
			}
		}
	}
	if ns >= 0 {
		t.Hidden = append(t.Hidden, Region{Start: ns, End: ne, Reason: reason})
	}
}
