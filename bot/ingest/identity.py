"""Item identity: the keys a feed item is known by, so one item alerts once."""

from __future__ import annotations

import hashlib

from bot.core.normalize import words
from bot.ingest.canonical import canonical_url

MIN_TEXT_WORDS = 12


def _is_http(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def item_identity(guid: str | None, link: str, title: str, text: str) -> tuple[str, ...]:
    """The keys an item is known by, most specific first: ``guid:``, ``url:``, ``text:``.

    An item already seen under any key is the same item, so a new GUID, a tracking
    tag or an edited title does not re-alert. A GUID that is a URL is canonicalised
    (tracking tags would make it unstable) and skipped when it is the link. Text
    shorter than ``MIN_TEXT_WORDS`` words is not distinctive ("Read more"), so the
    title is hashed with it.
    """
    keys = []
    link = link.strip()
    url = canonical_url(link) if _is_http(link) else None
    g = (guid or "").strip()
    if _is_http(g):
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
