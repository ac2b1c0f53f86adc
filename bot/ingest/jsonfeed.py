"""JSON Feed (https://jsonfeed.org, versions 1.0 and 1.1) into the parser's Entries.

feedparser does not read JSON Feed, so this is the second adapter that produces
``ParsedFeed``/``Entry``; it keeps the same rules as ``bot.ingest.parse``: HTML becomes
plain text, identity comes from ``bot.ingest.identity`` (``id``, URL, text), and
dates become aware UTC datetimes (or None when a feed's date is unusable).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from bot.core.errors import ParseError
from bot.core.models import Entry, ParsedFeed
from bot.ingest.identity import item_identity
from bot.ingest.text import MAX_TEXT, MAX_TITLE, html_to_text

VERSION_PREFIX = "https://jsonfeed.org/version/"
KNOWN_VERSIONS = {VERSION_PREFIX + "1", VERSION_PREFIX + "1.1"}
JSON_TYPES = {"application/json", "text/json", "application/feed+json"}
_BOM = b"\xef\xbb\xbf"


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def looks_like_json_feed(body: bytes, content_type: str) -> bool:
    """True for ``application/feed+json``, or a JSON object that names jsonfeed.org.

    A JSON content type with an object body counts too: it cannot be RSS or Atom,
    and ``parse_json_feed`` then says clearly what is missing.
    """
    essence = _essence(content_type)
    if essence == "application/feed+json":
        return True
    if not body.lstrip().removeprefix(_BOM).lstrip().startswith(b"{"):
        return False
    # The marker is searched anywhere: "version" may follow "items", and PHP writes \/.
    return essence in JSON_TYPES or essence.endswith("+json") or b"jsonfeed.org" in body


def _plain(value: Any, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _html(value: Any, limit: int = MAX_TEXT) -> str:
    return html_to_text(value, limit) if isinstance(value, str) else ""


def parse_date(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 date as aware UTC; a date without offset is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _id(raw: dict[str, Any]) -> str | None:
    ident = raw.get("id")
    if isinstance(ident, int | float) and not isinstance(ident, bool):
        ident = str(ident)  # the spec asks readers to coerce numeric ids
    return ident.strip() if isinstance(ident, str) and ident.strip() else None


def _legacy_key(ident: str | None, link: str, title: str, text: str) -> str | None:
    """The key newsbot 0.1 stored a JSON Feed item under (id, else URL, else a hash)."""
    if ident or link:
        return ident or link
    if title or text:
        return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return None


def _entry(raw: dict[str, Any], base_url: str) -> Entry | None:
    link = ""
    for field in ("url", "external_url"):
        value = raw.get(field)
        if isinstance(value, str) and value.strip():
            link = urljoin(base_url, value.strip())
            break
    title = _plain(raw.get("title"), MAX_TITLE)
    summary = _html(raw.get("summary"))
    content = _html(raw.get("content_html")) or _plain(raw.get("content_text"), MAX_TEXT)
    ident = _id(raw)
    keys = item_identity(ident, link, title, summary or content)
    if not keys:
        return None
    legacy = _legacy_key(ident, link, title, summary or content)
    published = parse_date(raw.get("date_published")) or parse_date(raw.get("date_modified"))
    return Entry(
        key=keys[0],
        link=link,
        title=title,
        summary=summary,
        published=published,
        content=content,
        keys=keys,
        aliases=(legacy,) if legacy and legacy not in keys else (),
    )


def _document(body: bytes, url: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ParseError(f"{url}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ParseError(f"{url}: a JSON Feed is an object, not a JSON {type(doc).__name__}")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise ParseError(f"{url}: not a JSON Feed: no jsonfeed.org 'version' (got {version!r})")
    if not isinstance(doc.get("items"), list):
        raise ParseError(f"{url}: JSON Feed has no 'items' list")
    return doc


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed body; skipped items and unknown versions become a warning.

    Relative item URLs are resolved against ``url`` (pass the final URL after redirects).
    """
    doc = _document(body, url)
    raws = doc["items"]
    entries = tuple(
        e for e in (_entry(r, url) for r in raws if isinstance(r, dict)) if e is not None
    )
    problems = []
    if doc["version"] not in KNOWN_VERSIONS:
        problems.append(f"unknown JSON Feed version {doc['version']!r}, read as 1.1")
    if len(entries) < len(raws):
        problems.append(f"{len(raws) - len(entries)} unusable item(s) skipped")
    return ParsedFeed(
        title=_plain(doc.get("title"), MAX_TITLE),
        entries=entries,
        warning="; ".join(problems) or None,
    )
