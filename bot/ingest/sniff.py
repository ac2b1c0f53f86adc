"""What bytes are when they do not say: their encoding (charset_normalizer), whether HTML.

Feeds and pages mostly say what they are; when neither the HTTP header nor the
document does, feedparser falls back to windows-1252 and a KOI8-R or EUC-KR feed
comes out as mojibake, and a page that opens ``<body`` after 5 kB of scripts
passes for plain text. This module is the one place that guesses.
"""

from __future__ import annotations

import codecs
import re

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


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_HTML_TAG = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|article|main|div|p)[\s>/]", re.I
)
HTML_SNIFF = 256 * 1024  # scripts, styles and comments can come first


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    """An HTML page: said so by its Content-Type, else an HTML tag in its first 256 kB."""
    essence = content_type.split(";", 1)[0].strip().lower()
    if essence in HTML_TYPES:
        return True
    if essence == "text/plain":
        return False
    return _HTML_TAG.search(body[:HTML_SNIFF]) is not None
