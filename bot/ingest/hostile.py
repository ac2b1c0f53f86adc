"""Cheap checks on a feed's bytes before feedparser sees them.

feedparser's cost grows with the square of one tag's attributes (60,000 on one
tag: over a minute) and steeply with nesting and item count, so a 1 MB document
can hold a worker for longer than any deadline should allow. These scans are
linear, run at regex speed (a 10 MB feed in well under a second), and refuse
such markup with a reason before any parser starts. The worker's deadline
(bot.analysis.pool) bounds whatever gets past them.

They also defuse the character references that break one parser or another:
``&#xD800;`` (a surrogate: feedparser raises on it and the whole feed failed),
``&#0;`` (a NUL, which PostgreSQL refuses in text), and numbers past U+10FFFF.
Each becomes U+FFFD, so only that character is lost, never the feed.
"""

from __future__ import annotations

import re

from bot.core.errors import ParseError

MAX_ATTRIBUTES = 1000  # on one tag; the real-world corpus peaks at 68
MAX_DEPTH = 1000  # open elements, raw or escaped, within one item
MAX_ITEMS = 20_000  # item or entry elements in one document (the corpus peaks at 138)

_LONG_TAG = re.compile(rb"<[^<>]{4096,}")  # only a long tag can hold many attributes
_ATTRIBUTE = re.compile(rb"""[^\s=]\s*=\s*["']?""")
_ITEM = re.compile(rb"<(?:item|entry)[\s>/]", re.I)
# An element opening or closing, as markup (to its ">") or as escaped markup in a
# text field (its name only: escaped elements that close themselves are void ones).
_TAG = re.compile(rb"<(/?)([A-Za-z][\w:.-]*)([^<>]*)>|&lt;(/?)([A-Za-z][\w:.-]*)")
# Void elements, and those whose end tag HTML lets authors leave out (a table's <td>
# are rarely closed): neither can be relied on to close, so neither counts.
_UNCOUNTED = frozenset(
    b"area base br col embed hr img input link meta param source track wbr "
    b"li p td th tr dt dd option optgroup thead tbody tfoot colgroup caption rt rp".split()
)
_ITEM_NAMES = frozenset((b"item", b"entry"))
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
REPLACEMENT = b"&#xFFFD;"


def refuse_pathological(body: bytes, url: str) -> None:
    """Raise ``ParseError`` (kind ``hostile_markup``) for markup no real feed has."""
    count = len(_ITEM.findall(body))
    if count > MAX_ITEMS:
        raise _refused(url, f"it lists {count} items (at most {MAX_ITEMS} are read)")
    for tag in _LONG_TAG.finditer(body):
        attributes = len(_ATTRIBUTE.findall(tag.group()))
        if attributes > MAX_ATTRIBUTES:
            raise _refused(url, f"one tag has {attributes} attributes (at most {MAX_ATTRIBUTES})")
    depth = _depth(body)
    if depth > MAX_DEPTH:
        raise _refused(url, f"elements nest deeper than {MAX_DEPTH} levels")


def _depth(body: bytes) -> int:
    """How deep elements nest within one item, stopping once past ``MAX_DEPTH``.

    Opening tags count up and closing tags down (never below zero); void,
    self-closed and optionally closed elements not at all; each item starts again
    at zero, so the unclosed tags of real-world HTML cannot add up across a feed.
    """
    depth = deepest = 0
    for m in _TAG.finditer(body):
        raw = m.group(2) is not None
        closing, name = (m.group(1), m.group(2)) if raw else (m.group(4), m.group(5))
        name = name.lower()
        if closing:
            depth = max(0, depth - 1)
        elif raw and name in _ITEM_NAMES:
            depth = 0
        elif not (raw and m.group(3).endswith(b"/")) and name not in _UNCOUNTED:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
    return deepest


def _refused(url: str, why: str) -> ParseError:
    return ParseError(f"{url}: refused before parsing: {why}", kind="hostile_markup")


def _valid_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _replace(m: re.Match[bytes]) -> bytes:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    return m.group() if _valid_xml_char(code) else REPLACEMENT


def defuse_char_refs(body: bytes) -> bytes:
    """``body`` with every reference to a character XML forbids replaced by U+FFFD."""
    if b"&#" not in body:
        return body
    return _CHARREF.sub(_replace, body)
