"""Telegram HTML as text: what it shows, how long that is, and where it may be cut.

Every outgoing message passes through ``split_html`` (a reply of any length, sent
as as many messages as it needs) or ``cut_html`` (one message, shortened with
"…"). Both measure the visible text as Telegram does (``bot.core.message``) and
cut only between visible characters, never inside a tag or an entity: at a line
break if one is in the second half of the part, else at the last space, else
(one word longer than the limit) between two characters, keeping an emoji
sequence whole. Tags open at a cut are closed there and opened again in the
next part, so each part is valid on its own and a link stays a link on both sides.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.message import MESSAGE_LIMIT

_MARKUP = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"  # a tag: its name, and whether it closes
    r"(?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*\s*>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});"  # an entity
)
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # ZWJ, variation selectors, keycap
_NO_BREAK = {"\xa0", "\u2007", "\u202f"}  # spaces that must not become a cut


@dataclass(frozen=True, slots=True)
class _Token:
    """A tag, an entity or one character: the pieces a cut may fall between."""

    raw: str
    shown: str = ""  # the visible text; empty for a tag
    tag: str = ""  # the tag's name, for a tag
    closing: bool = False


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out += (_Token(c, c) for c in text[pos : m.start()])
        if m[2]:
            out.append(_Token(m[0], tag=m[2].lower(), closing=bool(m[1])))
        else:
            out.append(_Token(m[0], html.unescape(m[0])))
        pos = m.end()
    out += (_Token(c, c) for c in text[pos:])
    return out


def _width(text: str) -> int:
    """Length in UTF-16 code units: characters beyond U+FFFF count twice."""
    if text.isascii():
        return len(text)
    return len(text) + sum(ord(c) > 0xFFFF for c in text)


def _shown(m: re.Match[str]) -> str:
    return "" if m[2] else html.unescape(m[0])


def plain(text: str) -> str:
    """The visible text of Telegram HTML: tags removed, entities decoded.

    One regex pass (the same markup ``_tokens`` finds), not a token per character:
    every alert is measured on its way out, and that was ~1 ms of the send path."""
    return _MARKUP.sub(_shown, text)


_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S | re.I)


def terminal(text: str) -> str:
    """Telegram HTML for a terminal (console alerts, dry runs): the visible text, and
    each link's URL on the line after it, since a terminal cannot follow a link."""
    return plain(_LINK.sub(lambda m: f"{m[2]}\n{m[1]}", text))


def visible_length(text: str) -> int:
    """The length Telegram checks against its limits."""
    return _width(plain(text))


def _is_space(token: _Token) -> bool:
    """A literal space or line break (an entity such as ``&#32;`` is not a break)."""
    return token.raw == token.shown and token.shown.isspace() and token.shown not in _NO_BREAK


def _joins(token: _Token) -> bool:
    """True if cutting just before this character would break a grapheme or emoji."""
    c = token.shown[:1]
    return bool(c) and (
        c in _JOINERS
        or unicodedata.combining(c) > 0
        or 0x1F3FB <= ord(c) <= 0x1F3FF  # skin tone
        or 0xE0020 <= ord(c) <= 0xE007F  # flag tag sequence
    )


def _inside_emoji(tokens: Sequence[_Token], at: int) -> bool:
    return _joins(tokens[at]) or tokens[at - 1].shown == "\u200d"


def _break(tokens: Sequence[_Token], start: int, limit: int, prefer_lines: bool) -> int | None:
    """Where the part from ``start`` ends (a token index); None when the rest fits.

    A line break or space found is itself dropped from both parts.
    """
    used, newline, space, first = 0, None, None, None
    for i in range(start, len(tokens)):
        width = _width(tokens[i].shown)
        if used + width > limit:
            break
        used += width
        if first is not None and tokens[i].raw == "\n":
            newline = (i, used)
        elif first is not None and _is_space(tokens[i]):
            space = (i, used)
        elif first is None and tokens[i].shown and not _is_space(tokens[i]):
            first = i
    else:
        return None
    if first is not None and tokens[i].raw == "\n":
        return i  # the line break that did not fit is the natural cut
    if prefer_lines and newline is not None and newline[1] >= limit // 2:
        return newline[0]
    if first is not None and _is_space(tokens[i]):
        return i
    found = [b[0] for b in (newline, space) if b is not None]
    if found:
        return max(found)
    cut = i  # one word is longer than the limit: cut inside it
    while first is not None and cut > first + 1 and _inside_emoji(tokens, cut):
        cut -= 1
    return max(cut, start + 1)  # always progress, even past a character wider than the limit


def _emit(tokens: Sequence[_Token], start: int, end: int, stack: list[_Token], tail: str) -> str:
    """Tokens ``start:end`` as HTML: the tags in ``stack`` reopened before, ``tail`` and
    every tag still open closed after. ``stack`` is left holding the tags still open."""
    out = [t.raw for t in stack]
    for token in tokens[start:end]:
        out.append(token.raw)
        if token.tag and not token.closing:
            stack.append(token)
        elif token.tag:
            at = next((k for k in range(len(stack) - 1, -1, -1) if stack[k].tag == token.tag), None)
            if at is not None:
                del stack[at]
    return "".join(out) + tail + "".join(f"</{t.tag}>" for t in reversed(stack))


def _trimmed(tokens: Sequence[_Token], start: int, end: int) -> int:
    """``end`` moved back over the spaces just before it (none is worth sending)."""
    while end > start and _is_space(tokens[end - 1]):
        end -= 1
    return end


def _next_start(tokens: Sequence[_Token], end: int, hard: bool) -> int:
    start = end if hard else end + 1
    while start < len(tokens) and _is_space(tokens[start]):
        start += 1
    return start


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` as parts of at most ``limit`` visible characters, each valid HTML."""
    if limit < 2:
        raise ValueError("limit must leave room for at least one character")
    if visible_length(text) <= limit:
        return [text]
    tokens = _tokens(text)
    parts: list[str] = []
    stack: list[_Token] = []
    start = 0
    while start < len(tokens):
        end = _break(tokens, start, limit, prefer_lines=True)
        stop = len(tokens) if end is None else _trimmed(tokens, start, end)
        part = _emit(tokens, start, stop, stack, "")
        if any(t.shown and not _is_space(t) for t in tokens[start:stop]):
            parts.append(part)  # never a part that would show nothing
        start = stop if end is None else _next_start(tokens, end, not _is_space(tokens[end]))
    return parts


def cut_html(text: str, limit: int = MESSAGE_LIMIT, ellipsis: str = "…") -> str:
    """``text`` if it fits in ``limit`` visible characters, else its start and ``ellipsis``."""
    if visible_length(text) <= limit:
        return text
    room = limit - _width(ellipsis)
    if room < 2:
        raise ValueError("limit must leave room for the ellipsis and one character")
    tokens = _tokens(text)
    end = _break(tokens, 0, room, prefer_lines=False)
    stop = len(tokens) if end is None else _trimmed(tokens, 0, end)
    return _emit(tokens, 0, stop, [], ellipsis)


def cut_text(text: str, limit: int) -> str:
    """Plain text (a button notice, a menu entry) cut the same way, for its own limit."""
    return html.unescape(cut_html(html.escape(text, quote=False), limit))


def pack(
    blocks: Sequence[str], limit: int = MESSAGE_LIMIT, *, most: int = 0, sep: str = "\n\n"
) -> list[str]:
    """Blocks of HTML gathered into pages of at most ``limit`` visible characters.

    Blocks stay whole and in order; a page takes at most ``most`` of them (0: no
    cap). A block longer than a page is split (``split_html``) across pages of its
    own. The pages of a paged list (/topics, /rules, /feeds) and of a digest.
    """
    pages: list[str] = []
    page: list[str] = []
    used = 0
    gap = visible_length(sep)
    for block in blocks:
        for piece in split_html(block, limit):
            size = visible_length(piece)
            full = most and len(page) >= most
            if page and (full or used + gap + size > limit):
                pages.append(sep.join(page))
                page, used = [], 0
            used += size + (gap if page else 0)
            page.append(piece)
    if page:
        pages.append(sep.join(page))
    return pages
