"""Guessing the encoding of bytes that declare none (charset_normalizer, loaded on first use).

Feeds and pages mostly say what they are; when neither the HTTP header nor the
document does, feedparser falls back to windows-1252 and a KOI8-R or EUC-KR feed
comes out as mojibake. This module is the one place that guesses.
"""

from __future__ import annotations

import codecs

SAMPLE = 200_000  # enough bytes to judge by; detection time grows with the sample

# Encodings for Latin script: a guess among these is no better than windows-1252
# (French read as cp1250 turns "à" into "ŕ"), so a Western reading is kept.
LATIN = frozenset(
    [
        "ascii",
        "utf-8",
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "cp1258",
        "iso8859-1",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-9",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "mac-roman",
        "mac-latin2",
        "cp437",
        "cp850",
        "cp852",
        "cp858",
    ]
)


def guess_encoding(body: bytes) -> str | None:
    """The most likely encoding of ``body`` (a Python codec name), or None."""
    import charset_normalizer  # rarely needed: not loaded in processes that never guess

    best = charset_normalizer.from_bytes(body[:SAMPLE]).best()
    return best.encoding if best is not None else None


def non_latin_encoding(body: bytes) -> str | None:
    """A guessed encoding for a non-Latin script (Cyrillic, CJK, Greek…), else None."""
    guessed = guess_encoding(body)
    if guessed is None:
        return None
    try:
        name = codecs.lookup(guessed).name
    except LookupError:
        return None
    return None if name in LATIN else name
