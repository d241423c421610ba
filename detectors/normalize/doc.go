// Package normalize builds the one normalised view of a document that every
// detector reads, with a map from every byte of it back to the original, so
// that a finding can show the reviewer exactly the bytes that fired.
//
// The view undoes what attackers use to slip text past matching while a
// model still reads it: compatibility forms (NFKC: fullwidth letters,
// ligatures, mathematical alphabets), case, diacritics, look-alike letters
// from other scripts (the UTS #39 confusables that map to ASCII), invisible
// format characters (zero-width spaces, word joiners, soft hyphens, which
// are dropped) and Unicode tag characters (which encode ASCII invisibly and
// are decoded). Runs of whitespace become one space, so phrases split across
// lines still match. In HTML, text is read through the markup: entities are
// decoded, tags that split a word do not, and what a browser would not show
// (comments, display:none, visibility:hidden, zero font size, text the colour
// of its background, aria-hidden, off-screen boxes, attributes such as alt
// and title) is kept and marked as a hidden region.
//
// Keywords and regular expressions of rules go through the same per-rune
// mapping (Phrase, RegexSource), so that rules match what the text becomes.
package normalize
