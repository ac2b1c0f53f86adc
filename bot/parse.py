"""Feed parsing: feedparser output is converted to frozen Entries here and nowhere else.

feedparser treats a ``str`` or ``bytes`` argument as a URL or a file path, so the
body is always handed over as ``io.BytesIO``: a feed can never make newsbot read
a local file or fetch a URL on its own.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html

from bot.errors import ParseError
from bot.models import Entry, ParsedFeed

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
    key = (raw.get("id") or "").strip() or link
    if not key:
        if not (title or summary):
            return None
        key = "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    return Entry(
        key=key,
        link=link,
        title=title,
        summary=summary,
        published=_published(raw),
        content=content.strip(),
    )


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed body; a bozo feed that still yields entries is kept, with a warning."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:
        raise ParseError(f"{url}: feedparser failed: {type(exc).__name__}: {exc}") from None
    entries = tuple(e for e in (_entry(raw) for raw in d.entries) if e is not None)
    problem = d.get("bozo_exception") if d.get("bozo") else None
    if not entries and not d.get("version"):
        looks_html = body.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html"))
        why = (
            "an HTML page, not a feed"
            if looks_html
            else f"not a feed ({problem or 'unknown format'})"
        )
        raise ParseError(f"{url}: {why}")
    warning = f"{type(problem).__name__}: {problem}" if problem else None
    return ParsedFeed(
        title=html_to_text(d.feed.get("title", ""), MAX_TITLE), entries=entries, warning=warning
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
