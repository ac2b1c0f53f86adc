"""Feed parsing: feedparser output is converted to frozen Entries here and nowhere else.

feedparser treats a ``str`` or ``bytes`` argument as a URL or a file path, so the
body is always handed over as ``io.BytesIO``: a feed can never make newsbot read
a local file or fetch a URL on its own. Markup feedparser would choke on is
refused first, and poisonous character references defused (bot.ingest.hostile);
the pipeline runs all of this in a worker process, under a deadline.
"""

from __future__ import annotations

import calendar
import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html

from bot.core.errors import ParseError
from bot.core.models import Entry, ParsedFeed
from bot.core.scrub import scrub
from bot.ingest.hostile import defuse_char_refs, refuse_pathological
from bot.ingest.identity import ItemFacts, document_keys, is_http, keyed
from bot.ingest.jsonfeed import looks_like_json_feed, parse_json_feed
from bot.ingest.legacy import any_key_identity, old_text
from bot.ingest.sniff import looks_like_html, non_latin_encoding
from bot.ingest.text import MAX_TEXT, MAX_TITLE, html_to_text

MAX_ENTRIES = 1000  # read from one document; the real-world corpus peaks at 138


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _link(raw: Any) -> str:
    """The item's web page: its link, else an alternate link, only ever an http(s) URL.

    feedparser puts an Atom entry's ``id`` in ``link`` when it has no link; a
    ``tag:`` id is no page to fetch or to show in an alert.
    """
    link = scrub(raw.get("link") or "").strip()
    if is_http(link):
        return link
    for candidate in raw.get("links") or []:
        href = scrub(candidate.get("href") or "").strip()
        if candidate.get("rel", "alternate") == "alternate" and is_http(href):
            return href
    return ""


def _legacy(raw: Any) -> tuple[str, ...]:
    """The keys the any-shared-key rule stored this item under (its text cleaned as then)."""
    summary = old_text(raw.get("summary", ""), MAX_TEXT)
    content = " ".join(old_text(c.get("value", ""), MAX_TEXT) for c in raw.get("content") or [])
    title = old_text(raw.get("title", ""), MAX_TITLE)
    link = (raw.get("link") or "").strip()
    return any_key_identity(raw.get("id"), link, title, summary or content)


def _entry(raw: Any, legacy: bool) -> Entry:
    """The item without its key: that takes the whole document (``_entries``)."""
    content = " ".join(html_to_text(c.get("value", "")) for c in raw.get("content") or [])
    return Entry(
        key="",
        link=_link(raw),
        title=html_to_text(raw.get("title", ""), MAX_TITLE),
        summary=html_to_text(raw.get("summary", "")),
        published=_published(raw),
        content=content.strip(),
        aliases=_legacy(raw) if legacy else (),
    )


def _entries(raws: list[Any], legacy: bool) -> tuple[tuple[Entry, ...], int]:
    """One Entry per item of the document, keyed by ``bot.ingest.identity``; and the empties.

    An item with no id, link, title or text at all (a bare enclosure or date)
    has nothing to match: it is left out, and counted.
    """
    kept = []
    for raw in raws:
        entry, guid = _entry(raw, legacy), scrub(str(raw.get("id") or "")).strip()
        if guid or entry.link or entry.title or entry.summary or entry.content:
            text = f"{entry.summary}\n{entry.content}"
            kept.append((ItemFacts(guid, entry.link, entry.title, text), entry))
    entries = keyed([e for _, e in kept], document_keys([f for f, _ in kept]))
    return entries, len(raws) - len(kept)


def _ttl(d: Any) -> float | None:
    value = str(d.feed.get("ttl", "")).strip()
    return float(value) if value.isdigit() and 0 < int(value) <= 7 * 24 * 60 else None


def _not_a_feed(body: bytes, url: str, problem: object) -> ParseError:
    """A helpful error: an HTML page names the feeds it advertises, if any."""
    if looks_like_html(body):
        found = discover_feeds(body, url)
        hint = f"; it advertises a feed at {found[0]}, use that URL" if found else ""
        return ParseError(f"{url}: this is an HTML page, not a feed{hint}", kind="not_a_feed")
    return ParseError(f"{url}: not a feed ({problem or 'unknown format'})")


_UTF16 = {
    b"\x00<": "utf-16-be",
    b"<\x00": "utf-16-le",
    b"\xfe\xff": "utf-16",
    b"\xff\xfe": "utf-16",
}


def _from_utf16(body: bytes) -> bytes | None:
    """UTF-8 for a UTF-16 document, so the checks before parsing can read its markup.

    feedparser itself gives up on one with neither BOM nor declaration.
    """
    codec = _UTF16.get(body[:2])
    if codec is None:
        return None
    try:
        return body.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        return None


FALLBACKS = ("windows-1252", "iso-8859-2")  # what feedparser reads undeclared bytes as


def _redecoded(body: bytes, d: Any) -> bytes | None:
    """UTF-8, when feedparser had to guess and the bytes are a non-Latin encoding.

    Only undeclared documents qualify (feedparser then reports a
    CharacterEncodingOverride and reads them as windows-1252): a declared
    encoding, or a Western guess, is left as feedparser read it.
    """
    overridden = isinstance(d.get("bozo_exception"), feedparser.CharacterEncodingOverride)
    if not overridden or d.get("encoding") not in FALLBACKS:
        return None
    encoding = non_latin_encoding(body)
    if encoding is None:
        return None
    try:
        return body.decode(encoding).encode("utf-8")
    except UnicodeDecodeError:
        return None


def _feedparser(body: bytes, url: str, content_type: str) -> Any:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser can raise nearly anything on hostile input
        raise ParseError(f"{url}: feedparser failed: {type(exc).__name__}: {exc}") from None


def parse_feed(
    body: bytes, url: str, content_type: str = "", *, legacy: bool = False
) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed; a bozo feed with entries is kept, warned.

    ``legacy``: also give each entry the keys older versions stored it under
    (``Entry.aliases``), for a feed's first poll after an upgrade.
    """
    if looks_like_json_feed(body, content_type):
        return _capped(parse_json_feed(body, url, legacy=legacy))
    transcoded = _from_utf16(body)
    if transcoded is not None:
        body, content_type = transcoded, "application/xml; charset=utf-8"
    refuse_pathological(body, url)
    body = defuse_char_refs(body)
    d = _feedparser(body, url, content_type)
    redecoded = _redecoded(body, d)
    if redecoded is not None:
        d = _feedparser(redecoded, url, "application/xml; charset=utf-8")
    entries, empty = _entries(d.entries, legacy)
    problem = d.get("bozo_exception") if d.get("bozo") else None
    if not entries and not d.get("version"):
        raise _not_a_feed(body, url, problem)
    problems = [f"{type(problem).__name__}: {problem}"] if problem else []
    if empty:
        problems.append(f"{empty} empty item(s) skipped")
    warning = "; ".join(problems) or None
    return _capped(
        ParsedFeed(
            title=html_to_text(d.feed.get("title", ""), MAX_TITLE),
            entries=entries,
            warning=warning,
            ttl_minutes=_ttl(d),
        )
    )


def _capped(parsed: ParsedFeed) -> ParsedFeed:
    """At most ``MAX_ENTRIES`` entries (the first: feeds list the newest first), and why."""
    if len(parsed.entries) <= MAX_ENTRIES:
        return parsed
    note = f"{len(parsed.entries)} items listed, only the first {MAX_ENTRIES} read"
    warning = f"{parsed.warning}; {note}" if parsed.warning else note
    return replace(parsed, entries=parsed.entries[:MAX_ENTRIES], warning=warning)


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
