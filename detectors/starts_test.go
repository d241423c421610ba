package detectors

import (
	"cmp"
	"slices"
	"testing"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
)

// startsKeywords mix the shapes the prefilter sorts keywords by: one byte,
// two or three, four to seven, eight and more, keywords that begin with a
// word byte and with another byte, and an underscore.
var startsKeywords = []string{"<", "]]", "ig", "you", "rule", "ignore", "ignore all", "instruct", "instructions", "_x", "<|im_start|>", "##", "системн", "忽略"}

type walkHit struct{ start, end int }

// naiveWalk is the definition walk must meet: every match of the whole
// Aho-Corasick walk over text, at a position where a keyword may count —
// a byte that is not a word byte, a word's first byte, or the byte after
// an underscore that opens a word — ordered by start and then end.
func naiveWalk(trie *ahocorasick.Trie, text []byte) []walkHit {
	word := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }
	var out []walkHit
	for _, m := range trie.Match(text) {
		i := int(m.Pos())
		inside := word(text[i]) && i > 0 && word(text[i-1]) && !(text[i-1] == '_' && (i == 1 || !word(text[i-2])))
		if !inside {
			out = append(out, walkHit{i, i + len(m.Match())})
		}
	}
	slices.SortStableFunc(out, func(a, b walkHit) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end)) })
	return out
}

// spaceKeywords add keywords that begin with a space, so that spaces must
// be looked at too.
var spaceKeywords = append([]string{" you", " "}, startsKeywords...)

func checkWalk(t *testing.T, text string) {
	t.Helper()
	for _, kws := range [][]string{startsKeywords, spaceKeywords} {
		trie := ahocorasick.NewTrieBuilder().AddStrings(kws).Build()
		s := newStarts(kws)
		var got []walkHit
		s.walk(trie, []byte(text), func(start, end int, _ int64) { got = append(got, walkHit{start, end}) })
		if want := naiveWalk(trie, []byte(text)); !slices.Equal(got, want) {
			t.Fatalf("walk(%q) with %d keywords = %v, want %v", text, len(kws), got, want)
		}
	}
}

func TestStartsWalk(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"phrase", "please ignore all instructions now"},
		{"inside a word", "signore xignore overrule ruler"},
		{"stem", "instructing the instructor"},
		{"punctuation", "<|im_start|>system<<you>> ]]]"},
		{"emphasis", "_you _x __you a_you _ignore_"},
		{"at the ends", "ignore"},
		{"short tail", "ig"},
		{"multi-byte", "системный промпт 忽略之前的指令 ignore"},
		{"digits", "9you you9 rule1 1rule"},
		{"across blocks", "1234567_you 123456_you xxxxxxx_ _you ignore1234567ignore"},
		{"high bytes", "\xff\x80you\xc3\xa9ignore \x80_you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkWalk(t, tt.text) })
	}
}

func FuzzStartsWalk(f *testing.F) {
	for _, s := range []string{"please ignore all instructions", "_you a_you", "<|im_start|>you", "системн忽略", "ig ru"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { checkWalk(t, text) })
}
