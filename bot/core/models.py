"""Frozen values that the stages pass to one another.

Library objects (feedparser dicts, trafilatura output) are converted into these
at one adapter each, so no stage depends on another library's shapes. (A
Telegram ``Update`` becomes a ``bot.telegram.conversation.Command`` the same way,
in ``bot.telegram.adapter``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed as the store knows it: identity, where to fetch it, HTTP validators."""

    id: int
    config_url: str
    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    first_polled: bool = False
    interval_seconds: float | None = None  # per-feed override, else the global interval
    current_interval: float | None = None  # the adaptive interval now in force
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    broken: bool = False
    # Its items may still be stored under an older identity rule's keys only: the
    # next full poll looks them up by ``Entry.aliases`` too, and re-stores them.
    legacy_keys: bool = False
    language: str | None = None  # the feed's language in feeds.yaml, if it says
    next_poll_at: datetime | None = None  # when it fell due (None: never polled)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one successful HTTP fetch (a 304 has ``not_modified`` set)."""

    url: str
    final_url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: bool = False
    cache_seconds: float | None = None  # from Cache-Control max-age or Expires

    @property
    def not_modified(self) -> bool:
        """A 304: the feed is unchanged and costs no parse."""
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, reduced to what newsbot uses."""

    key: str
    link: str
    title: str
    summary: str
    published: datetime | None
    content: str = ""
    keys: tuple[str, ...] = ()  # what it is recorded under: its key (bot.ingest.identity)
    # Keys an older version of newsbot stored this item under: looked up on a feed's
    # first poll after an upgrade, never written, so the new rule re-alerts nothing.
    aliases: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[str, ...]:
        """Every key this item is recorded under."""
        return self.keys or (self.key,)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: its entries, plus a warning when feedparser flagged it bozo."""

    title: str
    entries: tuple[Entry, ...]
    warning: str | None = None
    ttl_minutes: float | None = None  # RSS <ttl>: how long the publisher says to cache


@dataclass(frozen=True, slots=True)
class Article:
    """The text that rules are matched against.

    ``text_source`` is ``"page"`` when the body was extracted from the article page
    and ``"feed"`` when the page could not be used and the feed's own text stands in.
    """

    url: str
    title: str
    summary: str
    body: str
    source: str
    published: datetime | None
    text_source: str = "page"
    language: str | None = None  # ISO 639-1, when known (the feed's, or guessed)


@dataclass(frozen=True, slots=True)
class Hit:
    """One term found in one field of an article, at ``[start, end)`` of that field."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic that matched, and the hits that made it match."""

    topic_id: str
    topic_name: str
    hits: tuple[Hit, ...] = field(default_factory=tuple)
