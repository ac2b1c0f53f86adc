"""Plain text from the HTML fragments feeds are full of, shared by every feed format.

Feeds encode text once, twice or not at all: ``That&#8217;s`` in a title,
``Toka&amp;iuml;ev`` in a summary (encoded twice), ``&lt;p&gt;Title&lt;/p&gt;``
(markup escaped into a text field). Tags are stripped and entities decoded until
nothing changes, so every field comes out as the words a reader sees, and a
second pass changes nothing (each step only ever shortens the string).
"""

from __future__ import annotations

import contextlib
import html
import re

import lxml.etree
import lxml.html

from bot.core.scrub import scrub

MAX_TITLE = 1000
MAX_TEXT = 100_000
_MARKUP = re.compile(r"<[A-Za-z/!?]")  # a tag, a comment or a declaration, not "x < y"
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
_PASSES = 8  # more layers of encoding than any feed was seen to use


def _strip_tags(value: str) -> str:
    with contextlib.suppress(lxml.etree.ParserError, ValueError):
        return lxml.html.fromstring(value).text_content()
    return value


def _once(value: str) -> str:
    if _MARKUP.search(value):
        value = _strip_tags(value)  # decodes the entities it parses, too
    if _ENTITY.search(value):
        value = html.unescape(value)
    return value


def html_to_text(value: str, limit: int = MAX_TEXT) -> str:
    """Plain text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed."""
    if not value:
        return ""
    value = scrub(value)
    for _ in range(_PASSES):
        decoded = _once(value)
        if decoded == value:
            break
        value = decoded
    return " ".join(scrub(value).split())[:limit]  # unescaping may have made some
