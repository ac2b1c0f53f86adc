"""Telegram-flavoured HTML checking, so escaping bugs fail in tests rather than in prod.

Telegram rejects a message whose HTML it cannot parse ("can't parse entities") and
measures the 4096-character limit on the text left after tags are removed and entities
decoded.  This is deliberately a little stricter than Telegram: a bare ``>`` is
rejected too, because the bot must escape everything it interpolates.
"""

from __future__ import annotations

import html
import re

ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")


class HTMLParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` mimics Telegram's wording."""


def _offset(text: str, pos: int) -> int:
    """Telegram reports UTF-8 byte offsets."""
    return len(text[:pos].encode("utf-8"))


def _check_attrs(name: str, raw: str, text: str, pos: int) -> None:
    attrs = {m[1].lower(): (m[2] or "").strip("\"'") for m in _ATTR.finditer(raw)}
    unknown = set(attrs) - ALLOWED_ATTRS[name]
    if unknown:
        raise HTMLParseError(
            f'Unsupported attribute "{sorted(unknown)[0]}" in tag "{name}" '
            f"at byte offset {_offset(text, pos)}"
        )
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HTMLParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_offset(text, pos)}'
        )


def _tag(text: str, pos: int, stack: list[str]) -> int:
    """Consume the tag starting at ``text[pos] == '<'``; return the position after it."""
    match = _TAG.match(text, pos)
    if match is None:
        raise HTMLParseError(
            f"Unsupported start tag at byte offset {_offset(text, pos)}; "
            "escape a literal '<' as &lt;"
        )
    closing, name, raw_attrs = match[1], match[2].lower(), match[3]
    if name not in ALLOWED_ATTRS:
        raise HTMLParseError(f'Unsupported start tag "{name}" at byte offset {_offset(text, pos)}')
    if not closing:
        _check_attrs(name, raw_attrs, text, pos)
        stack.append(name)
    elif not stack:
        raise HTMLParseError(f'Unexpected end tag "{name}" at byte offset {_offset(text, pos)}')
    elif stack[-1] != name:
        raise HTMLParseError(
            f"Unmatched end tag at byte offset {_offset(text, pos)}, "
            f'expected "</{stack[-1]}>", found "</{name}>"'
        )
    else:
        stack.pop()
    return match.end()


def html_to_text(text: str) -> str:
    """Validate Telegram HTML and return the visible text (tags removed, entities decoded).

    Raises HTMLParseError with a Telegram-like description on invalid markup.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            pos = _tag(text, pos, stack)
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if match is None:
                raise HTMLParseError(
                    f"Can't find end of the entity starting at byte offset {_offset(text, pos)}"
                )
            out.append(html.unescape(match[0]))
            pos = match.end()
        elif char == ">":
            raise HTMLParseError(
                f"Unescaped '>' at byte offset {_offset(text, pos)}; escape it as &gt;"
            )
        else:
            out.append(char)
            pos += 1
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)
