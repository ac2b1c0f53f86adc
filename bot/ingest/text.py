"""Plain text from the HTML fragments feeds are full of, shared by every feed format."""

from __future__ import annotations

import contextlib

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


