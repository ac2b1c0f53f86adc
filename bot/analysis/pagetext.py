"""A fetched page as text: its charset decoded, its title, and all its words for the pre-filter."""

from __future__ import annotations

import contextlib
import html
import re

import lxml.etree
import lxml.html

from bot.ingest.sniff import guess_encoding
from bot.ingest.text import MAX_TITLE, html_to_text

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_HEAD = 64 * 1024  # where a <meta charset> may be, after scripts and comments
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


_TAG = re.compile(r"<[^>]*>")


# Never page text to an extractor (trafilatura drops them first), yet often half a page.
_HIDDEN = re.compile(r"<!--|<(script|style)\b", re.I)


_HIDDEN_END = {
    "--": re.compile(r"-->"),
    "script": re.compile(r"</script\s*>", re.I),
    "style": re.compile(r"</style\s*>", re.I),
}


_INLINE = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|font|i|kbd|mark|q|s|samp|small|span|"
    r"strong|sub|sup|time|u|var|wbr)\b[^>]*>",
    re.I,
)


def header_charset(content_type: str) -> str | None:
    """The charset an HTTP Content-Type names, if any."""
    found = _CHARSET.search(content_type.encode("latin-1", "ignore"))
    return found.group(1).decode("ascii", "ignore") if found else None


def decode_page(body: bytes, content_type: str = "") -> str:
    """A page's text as a string: declared charset, else UTF-8, else detected."""
    declared = _CHARSET.search(content_type.encode("latin-1", "ignore")) or _CHARSET.search(
        body[:_HEAD]
    )
    if declared:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return body.decode(declared.group(1).decode("ascii", "ignore"))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        guessed = guess_encoding(body)
        return body.decode(guessed or "utf-8", "replace")


def page_title(body: bytes, content_type: str = "") -> str:
    """The page's own title (``og:title``, else ``<title>``), decoded like its text."""
    text = _XML_DECLARATION.sub("", decode_page(body, content_type))
    try:
        doc = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return ""
    og = doc.xpath('//meta[@property="og:title"]/@content')
    return html_to_text(og[0] if og else doc.findtext(".//title") or "", MAX_TITLE)


def raw_text_variants(body: bytes, content_type: str = "") -> tuple[str, ...]:
    """All text of a page as one string: a superset of the words an extractor can return.

    Inline tags (``<b>``, ``<a>``, ``<span>``…) join the words around them, as in the
    rendered page ("Kasach<b>stan</b>" is one word); every other tag separates words.
    Scripts, styles and comments are dropped: extractors never return their text,
    and on modern pages they are much of the bytes.
    """
    page = _drop_hidden(decode_page(body, content_type))
    return (html.unescape(_TAG.sub(" ", _INLINE.sub("", page))),)


def _drop_hidden(page: str) -> str:
    """``page`` without comments, scripts and styles; an unclosed one keeps the rest.

    A scan, not one regex: a lazy ``.*?`` would rescan to the end for every
    unclosed ``<script``, quadratic on a hostile page.
    """
    out, pos = [], 0
    while (opener := _HIDDEN.search(page, pos)) is not None:
        closer = _HIDDEN_END[(opener.group(1) or "--").lower()].search(page, opener.end())
        if closer is None:
            break
        out += (page[pos : opener.start()], " ")
        pos = closer.end()
    out.append(page[pos:])
    return "".join(out)
