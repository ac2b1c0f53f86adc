"""JSON Feed (https://jsonfeed.org, versions 1.0 and 1.1) into the parser's Entries.

feedparser does not read JSON Feed, so this is the second adapter that produces
``ParsedFeed``/``Entry``; it keeps the same rules as ``bot.ingest.parse``: HTML becomes
plain text, identity comes from ``bot.ingest.identity`` (``id``, URL, content,
decided for the whole document), and dates become aware UTC datetimes (or None
when a feed's date is unusable). Real feeds name their version as
``http://jsonfeed.org/version/1`` as often as ``https://``; both are read.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from bot.core.errors import ParseError
from bot.core.models import Entry, ParsedFeed
from bot.core.scrub import scrub
from bot.ingest.identity import ItemFacts, document_keys, keyed
from bot.ingest.legacy import any_key_identity, json_feed_v01_key, old_text
from bot.ingest.text import MAX_TEXT, MAX_TITLE, html_to_text

# "version": https://jsonfeed.org/version/1.1, also over http:// and with www.
_VERSION_URL = re.compile(r"https?://(?:www\.)?jsonfeed\.org/version/(?P<number>[^/\s]+)/?", re.I)
_BARE_VERSION = re.compile(r"1(?:\.[01])?")  # "1.1": seen in test suites, not the spec
KNOWN_VERSIONS = {"1", "1.0", "1.1"}
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


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """A field as plain text: plain or HTML, entities decoded either way (feeds mix them)."""
    return html_to_text(value, limit) if isinstance(value, str) else ""


def _old_plain(value: Any, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _old_html(value: Any) -> str:
    return old_text(value, MAX_TEXT) if isinstance(value, str) else ""


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
    ident = scrub(ident).strip() if isinstance(ident, str) else ""
    return ident or None


def _link(raw: dict[str, Any], base_url: str) -> str:
    for field in ("url", "external_url"):
        value = raw.get(field)
        if isinstance(value, str) and scrub(value).strip():
            return urljoin(base_url, scrub(value).strip())
    return ""


def _aliases(raw: dict[str, Any], ident: str | None, link: str) -> tuple[str, ...]:
    """The keys newsbot 0.1 and the any-shared-key rule stored this item under."""
    title = _old_plain(raw.get("title"), MAX_TITLE)
    text = _old_html(raw.get("summary")) or (
        _old_html(raw.get("content_html")) or _old_plain(raw.get("content_text"), MAX_TEXT)
    )
    v01 = json_feed_v01_key(ident, link, title, text)
    return (*any_key_identity(ident, link, title, text), *((v01,) if v01 else ()))


def _entry(raw: dict[str, Any], base_url: str, legacy: bool) -> tuple[ItemFacts, Entry] | None:
    link = _link(raw, base_url)
    title = _text(raw.get("title"), MAX_TITLE)
    summary = _text(raw.get("summary"))
    content = _text(raw.get("content_html")) or _text(raw.get("content_text"))
    ident = _id(raw)
    if not (ident or link or title or summary or content):
        return None
    published = parse_date(raw.get("date_published")) or parse_date(raw.get("date_modified"))
    entry = Entry(
        key="",
        link=link,
        title=title,
        summary=summary,
        published=published,
        content=content,
        aliases=_aliases(raw, ident, link) if legacy else (),
    )
    return ItemFacts(ident or "", link, title, f"{summary}\n{content}"), entry


def _document(body: bytes, url: str) -> dict[str, Any]:
    try:
        doc = json.loads(body, strict=False)  # raw tabs and newlines in strings: common
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ParseError(f"{url}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ParseError(f"{url}: a JSON Feed is an object, not a JSON {type(doc).__name__}")
    if _version(doc.get("version")) is None:
        raise ParseError(
            f"{url}: not a JSON Feed: no jsonfeed.org 'version' (got {doc.get('version')!r})"
        )
    if not isinstance(doc.get("items"), list):
        raise ParseError(f"{url}: JSON Feed has no 'items' list")
    return doc


def _version(value: Any) -> str | None:
    """The version number a JSON Feed declares (``1.1``), or None when it is not one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    found = _VERSION_URL.fullmatch(value)
    if found:
        return found.group("number")
    return value if _BARE_VERSION.fullmatch(value) else None


def parse_json_feed(body: bytes, url: str, *, legacy: bool = False) -> ParsedFeed:
    """Parse a JSON Feed body; skipped items and unknown versions become a warning.

    Relative item URLs are resolved against ``url`` (pass the final URL after redirects).
    ``legacy``: also give each entry the keys older versions stored it under.
    """
    doc = _document(body, url)
    raws = doc["items"]
    drafts = [d for d in (_entry(r, url, legacy) for r in raws if isinstance(r, dict)) if d]
    entries = keyed([e for _, e in drafts], document_keys([f for f, _ in drafts]))
    problems = []
    version = _version(doc["version"])
    if version not in KNOWN_VERSIONS:
        problems.append(f"unknown JSON Feed version {doc['version']!r}, read as 1.1")
    elif not _VERSION_URL.fullmatch(doc["version"].strip()):
        problems.append(f"JSON Feed version {doc['version']!r} is not a jsonfeed.org URL")
    if len(drafts) < len(raws):
        problems.append(f"{len(raws) - len(drafts)} unusable item(s) skipped")
    return ParsedFeed(
        title=_text(doc.get("title"), MAX_TITLE),
        entries=entries,
        warning="; ".join(problems) or None,
    )
