"""Tests for grapheme-aware truncation."""
import unicodedata

from textutil import truncate_graphemes

CASES = [
    ("hello 👩‍💻 world", 7, "hello 👩‍💻"),
    ("👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧", 2, "👨‍👩‍👧👨‍👩‍👧"),
    ("flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿!", 6, "flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿"),
    ("👍🏽👍🏿👍🏻", 1, "👍🏽"),
    ("🏳️‍🌈 pride", 1, "🏳️‍🌈"),
]


def test_truncate():
    for text, n, expected in CASES:
        assert truncate_graphemes(text, n) == expected


def test_nfc_stable():
    for text, _, _ in CASES:
        assert unicodedata.normalize("NFC", text) == text
