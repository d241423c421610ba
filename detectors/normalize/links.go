package normalize

import (
	"bytes"
)

// links adds the Markdown links and images, and bare URLs, of src to those
// the HTML reader found, without duplicates.
func links(src []byte, found []Link) []Link {
	seen := map[int]bool{}
	for _, l := range found {
		seen[l.Start] = true
	}
	add := func(l Link) {
		if !seen[l.Start] && l.End > l.Start {
			seen[l.Start] = true
			found = append(found, l)
		}
	}
	// [text](url "title") and ![alt](url)
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte("]("))
		if j < 0 {
			break
		}
		p := i + j
		i = p + 2
		open := bytes.LastIndexByte(src[max(0, p-1000):p], '[')
		if open < 0 {
			continue
		}
		open += max(0, p-1000)
		image := open > 0 && src[open-1] == '!'
		u := p + 2
		for u < len(src) && (src[u] == ' ' || src[u] == '<') {
			u++
		}
		e := u
		for e < len(src) && e-u < 4096 && src[e] != ')' && src[e] != ' ' && src[e] != '>' && src[e] != '\n' && src[e] != '"' {
			e++
		}
		add(Link{URL: string(src[u:e]), Start: u, End: e, Image: image})
	}
	// Bare URLs.
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte("://"))
		if j < 0 {
			break
		}
		p := i + j
		i = p + 3
		s := p
		for s > 0 && s > p-10 && isSchemeByte(src[s-1]) {
			s--
		}
		if s == p {
			continue
		}
		e := p + 3
		for e < len(src) && e-s < 4096 && !isURLEnd(src[e]) {
			e++
		}
		add(Link{URL: string(src[s:e]), Start: s, End: e})
	}
	return found
}

func isSchemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isURLEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', ')', ']', '`', '|':
		return true
	}
	return false
}
