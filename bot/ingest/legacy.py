"""The keys older newsbot versions stored feed items under, so an upgrade re-alerts nothing.

Before identity was decided per feed document (bot.ingest.identity), an item was
stored under every key it had: ``guid:``, ``url:`` and a ``text:`` digest of its
words, and one already seen under any of them was not new. newsbot 0.1 stored a
JSON Feed item under its raw id, link or a sha256 of its text. These functions
reproduce those keys exactly, with the text cleaning of their time, for the one
poll per feed after an upgrade (``FeedSource.legacy_keys``); they are never
written, and never consulted again once the feed's items carry their new keys.
"""

from __future__ import annotations

import contextlib
import hashlib

import lxml.etree
import lxml.html

from bot.core.normalize import words
from bot.ingest.canonical import canonical_url
from bot.ingest.identity import is_http

MIN_TEXT_WORDS = 12


def old_text(value: str, limit: int) -> str:
    """Feed text as it was cleaned then: only fragments containing ``<`` were parsed."""
    if not value:
        return ""
    if "<" in value:
        with contextlib.suppress(lxml.etree.ParserError, ValueError):
            value = lxml.html.fromstring(value).text_content()
    return " ".join(value.split())[:limit]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def any_key_identity(guid: str | None, link: str, title: str, text: str) -> tuple[str, ...]:
    """The keys of the any-shared-key rule: ``guid:``, ``url:``, ``text:``, as it stored them."""
    keys = []
    link = link.strip()
    url = canonical_url(link) if is_http(link) else None
    g = (guid or "").strip()
    if is_http(g):
        g = canonical_url(g)
    if g and g != url:
        keys.append("guid:" + g)
    if url:
        keys.append("url:" + url)
    tokens = words(text)
    if len(tokens) < MIN_TEXT_WORDS:
        tokens = words(title) + tokens
    if tokens:
        keys.append("text:" + _digest(" ".join(tokens)))
    return tuple(keys)


def json_feed_v01_key(ident: str | None, link: str, title: str, text: str) -> str | None:
    """The key newsbot 0.1 stored a JSON Feed item under (id, else URL, else a hash)."""
    if ident or link:
        return ident or link
    if title or text:
        return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return None
