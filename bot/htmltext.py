"""Plain text from the HTML fragments feeds are full of, shared by every feed format."""

from __future__ import annotations

import contextlib
import html
import re

import charset_normalizer
import lxml.etree
import lxml.html

MAX_TITLE = 1000
MAX_TEXT = 100_000


def html_to_text(value: str, limit: int = MAX_TEXT) -> str:
    """Plain text of an HTML fragment, whitespace collapsed (feed text is often HTML)."""
    if not value:
        return ""
    if "<" in value:
        with contextlib.suppress(lxml.etree.ParserError, ValueError):
            value = lxml.html.fromstring(value).text_content()
    return " ".join(value.split())[:limit]


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_TAG = re.compile(r"<[^>]*>")


def decode_page(body: bytes, content_type: str = "") -> str:
    """A page's text as a string: declared charset, else UTF-8, else detected."""
    declared = _CHARSET.search(content_type.encode("latin-1", "ignore")) or _CHARSET.search(
        body[:4096]
    )
    if declared:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return body.decode(declared.group(1).decode("ascii", "ignore"))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(body[:200_000]).best()
        return str(best) if best is not None else body.decode("utf-8", "replace")


def raw_text_variants(body: bytes, content_type: str = "") -> tuple[str, str]:
    """All text of a page, tags as spaces and tags removed: together a superset of
    whatever words a main-text extractor can return from it."""
    page = decode_page(body, content_type)
    return html.unescape(_TAG.sub(" ", page)), html.unescape(_TAG.sub("", page))
