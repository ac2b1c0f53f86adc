"""Feed parsing: feedparser output is converted to frozen Entries here and nowhere else.

feedparser treats a ``str`` or ``bytes`` argument as a URL or a file path, so the
body is always handed over as ``io.BytesIO``: a feed can never make newsbot read
a local file or fetch a URL on its own.
"""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html

from bot.core.errors import ParseError
from bot.core.models import Entry, ParsedFeed
from bot.ingest.identity import item_identity
from bot.ingest.jsonfeed import looks_like_json_feed, parse_json_feed
from bot.ingest.text import MAX_TITLE, html_to_text


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _entry(raw: Any) -> Entry | None:
    title = html_to_text(raw.get("title", ""), MAX_TITLE)
    link = (raw.get("link") or "").strip()
    summary = html_to_text(raw.get("summary", ""))
    content = " ".join(html_to_text(c.get("value", "")) for c in raw.get("content") or [])
    keys = item_identity(raw.get("id"), link, title, summary or content)
    if not keys:
        return None
    return Entry(
        key=keys[0],
        link=link,
        title=title,
        summary=summary,
        published=_published(raw),
        content=content.strip(),
        keys=keys,
    )


def _ttl(d: Any) -> float | None:
    value = str(d.feed.get("ttl", "")).strip()
    return float(value) if value.isdigit() and 0 < int(value) <= 7 * 24 * 60 else None


def _not_a_feed(body: bytes, url: str, problem: object) -> ParseError:
    """A helpful error: an HTML page names the feeds it advertises, if any."""
    head = body.lstrip()[:500].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in body[:5000].lower():
        found = discover_feeds(body, url)
        hint = f"; it advertises a feed at {found[0]}, use that URL" if found else ""
        return ParseError(f"{url}: this is an HTML page, not a feed{hint}", kind="not_a_feed")
    return ParseError(f"{url}: not a feed ({problem or 'unknown format'})")


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed; a bozo feed with entries is kept, warned."""
    if looks_like_json_feed(body, content_type):
        return parse_json_feed(body, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser can raise nearly anything on hostile input
        raise ParseError(f"{url}: feedparser failed: {type(exc).__name__}: {exc}") from None
    entries = tuple(e for e in (_entry(raw) for raw in d.entries) if e is not None)
    problem = d.get("bozo_exception") if d.get("bozo") else None
    if not entries and not d.get("version"):
        raise _not_a_feed(body, url, problem)
    warning = f"{type(problem).__name__}: {problem}" if problem else None
    return ParsedFeed(
        title=html_to_text(d.feed.get("title", ""), MAX_TITLE),
        entries=entries,
        warning=warning,
        ttl_minutes=_ttl(d),
    )


FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


def discover_feeds(body: bytes, base_url: str) -> list[str]:
    """Feed URLs a web page advertises with ``<link rel="alternate" type="…rss+xml">``."""
    try:
        doc = lxml.html.fromstring(body, base_url=base_url)
    except (lxml.etree.ParserError, ValueError):
        return []
    doc.make_links_absolute(base_url, handle_failures="ignore")
    out = []
    for link in doc.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = link.get("href", "")
        if "alternate" in rel and kind in FEED_TYPES and href.startswith(("http://", "https://")):
            out.append(href)
    return list(dict.fromkeys(out))
