"""Text normalisation and tokenisation shared by rules and articles.

Both sides go through the same folding, so a rule written as ``Tokaïev`` hits
"TOKAIEV", ``Казахстан*`` hits "Казахстане" and ``Kazajistán`` hits "Kazajistan".
Words are runs of letters, digits and combining marks in any script, so hyphens
and apostrophes split words ("OVKS-Truppen" -> ``ovks`` ``truppen``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+")
# Letters NFKD leaves alone but that readers treat as plain i / o / d / l.
_EXTRA = str.maketrans({"ı": "i", "ø": "o", "đ": "d", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe"})


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its folded form and its ``[start, end)`` in the original text."""

    norm: str
    start: int
    end: int


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Fold one word: NFKC, case fold, strip diacritics, map look-alike letters.

    Turkish dotted/dotless i, Greek final sigma and German ß all end up as one form.
    """
    text = unicodedata.normalize("NFKC", word).casefold().translate(_EXTRA)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into folded words with offsets into ``text`` itself."""
    out = []
    for m in _WORD.finditer(text):
        norm = fold(m.group())
        if norm:
            out.append(Token(norm, m.start(), m.end()))
    return out


def words(text: str) -> list[str]:
    """The folded words of ``text`` (for rule terms, where offsets do not matter)."""
    return [t.norm for t in tokenize(text)]


def word_set(text: str) -> set[str]:
    """The distinct folded words of ``text`` (each distinct word folded once, cached)."""
    return {w.lower() if w.isascii() else fold(w) for w in set(_WORD.findall(text))} - {""}
