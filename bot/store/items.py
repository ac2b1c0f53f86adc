"""Seen items, articles and their matches: the store decides what is new."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.core.message import Alert
from bot.core.models import Article, Entry, TopicMatch
from bot.store.archive import archive_row, insert_archived
from bot.store.base import insert_ignore
from bot.store.outbox import Outlet, enqueue_alerts
from bot.store.schema import articles, feeds, items, matches
from bot.store.subs import note_skipped


def key_hash(key: str) -> str:
    """Item keys (GUIDs, URLs) can be long; store a fixed-size digest.

    ``surrogatepass``: a lone surrogate in a key (a broken feed) must cost nothing more
    than an odd key, never the whole feed's triage.
    """
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Triage:
    """A feed document's entries: ``new`` to process, ``adopted`` seen under older keys."""

    new: list[Entry]
    adopted: list[Entry]


LISTED_REFRESH = timedelta(days=1)  # how stale a listed item's seen_at may get


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A matched article as the store keeps it (what an alert's buttons need)."""

    id: int
    url: str
    title: str
    source: str
    language: str | None


class _RecordedElsewhere(Exception):
    """Raised inside the transaction to roll it back."""


class ItemStore:
    """Which items a feed has shown, and the articles and alerts they produced."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def unseen(self, feed_id: int, entries: Sequence[Entry]) -> list[Entry]:
        """The entries this feed has never shown, in feed order."""
        return self.triage(feed_id, entries).new

    def triage(self, feed_id: int, entries: Sequence[Entry], *, legacy: bool = False) -> Triage:
        """Which entries are new; with ``legacy``, also those seen only under old keys.

        ``legacy`` is for a feed's first poll after the identity rule changed: an
        entry stored under any key it had then (``Entry.aliases``) is not new, and
        goes to ``adopt`` to be stored under its new key.
        """
        if not entries:
            return Triage([], [])
        lookups = {key_hash(k) for e in entries for k in e.identity}
        if legacy:
            lookups |= {key_hash(k) for e in entries for k in e.aliases}
        with self.engine.connect() as conn:
            stored = self._known(conn, feed_id, sorted(lookups))
        new, adopted, taken = [], [], set(stored)
        for e in entries:
            mine = {key_hash(k) for k in e.identity}
            if mine & taken:
                continue
            taken |= mine  # the same item twice in one feed body counts once
            if legacy and {key_hash(k) for k in e.aliases} & stored:
                adopted.append(e)
            else:
                new.append(e)
        return Triage(new, adopted)

    def listed(self, feed_id: int, entries: Sequence[Entry]) -> None:
        """The feed's document lists ``entries`` now: none of them may be pruned.

        Their ``seen_at`` is refreshed when older than ``LISTED_REFRESH`` (so a feed
        polled every minute costs one such write a day, not one a poll), and the
        feed's ``listed_since`` says that every item listed was seen since then.
        """
        now = utcnow()
        since = now - LISTED_REFRESH
        hashes = sorted({key_hash(k) for e in entries for k in e.identity})
        with self.engine.begin() as conn:
            for start in range(0, len(hashes), 500):  # bounded IN lists
                conn.execute(
                    items.update()
                    .where(
                        items.c.feed_id == feed_id,
                        items.c.key_hash.in_(hashes[start : start + 500]),
                        items.c.seen_at < since,
                    )
                    .values(seen_at=now)
                )
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(listed_since=since))

    def adopt(self, feed_id: int, entries: Iterable[Entry]) -> None:
        """Store items seen under older keys under their new ones; the feed is then current."""
        now = utcnow()
        rows = [r for e in entries for r in self._rows(feed_id, e, now)]
        with self.engine.begin() as conn:
            insert_ignore(conn, items, rows, ("feed_id", "key_hash"))
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(legacy_keys=False))

    def article(self, article_id: int) -> StoredArticle | None:
        """A stored article, or None once it is pruned."""
        query = sa.select(
            articles.c.id, articles.c.url, articles.c.title, articles.c.source, articles.c.language
        ).where(articles.c.id == article_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return StoredArticle(*row) if row else None

    def matched_since(self, since: datetime) -> int:
        """How many articles matched a topic since ``since``."""
        query = (
            sa.select(sa.func.count()).select_from(articles).where(articles.c.created_at >= since)
        )
        with self.engine.connect() as conn:
            return conn.scalar(query) or 0

    @staticmethod
    def _known(conn: sa.Connection, feed_id: int, hashes: list[str]) -> set[str]:
        query = sa.select(items.c.key_hash).where(
            items.c.feed_id == feed_id, items.c.key_hash.in_(hashes)
        )
        return set(conn.scalars(query)) if hashes else set()

    @staticmethod
    def _rows(feed_id: int, entry: Entry, now: datetime) -> list[dict]:
        return [
            {"feed_id": feed_id, "key_hash": key_hash(k), "seen_at": now} for k in entry.identity
        ]

    def mark_seen(self, feed_id: int, entries: Iterable[Entry], *, first_poll: bool = False) -> int:
        """Record entries as seen without alerting; on first poll, also mark the feed.

        Returns how many of them were new (an entry has a row per identity key).
        """
        now = utcnow()
        rows = {e: self._rows(feed_id, e, now) for e in entries}
        with self.engine.begin() as conn:
            known = self._known(conn, feed_id, [r["key_hash"] for rs in rows.values() for r in rs])
            new = sum(1 for rs in rows.values() if not {r["key_hash"] for r in rs} & known)
            flat = [r for rs in rows.values() for r in rs]
            insert_ignore(conn, items, flat, ("feed_id", "key_hash"))
            values: dict = {"items_seen": feeds.c.items_seen + new}
            if first_poll:
                values["first_polled_at"] = now
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))
        return new

    def record_article(
        self,
        feed_id: int,
        entry: Entry,
        article: Article,
        found: Sequence[TopicMatch],
        alerts: Sequence[Alert],
        story_id: int | None = None,
        snippet: str = "",
    ) -> bool:
        """Store the item, its article, matches and outbox rows in one transaction.

        Either all of it is stored or none, so a crash mid-cycle re-processes the
        item next time and an alert is never lost. Returns False if the item was
        already recorded (by an earlier run), in which case nothing is written.
        ``snippet`` is the plain line a digest shows for the article.
        """
        try:
            return self._record(feed_id, entry, article, found, alerts, story_id, snippet)
        except _RecordedElsewhere:
            return False

    def _record(
        self,
        feed_id: int,
        entry: Entry,
        article: Article,
        found: Sequence[TopicMatch],
        alerts: Sequence[Alert],
        story_id: int | None,
        snippet: str,
    ) -> bool:
        now = utcnow()
        with self.engine.begin() as conn:
            rows = self._rows(feed_id, entry, now)
            hashes = [r["key_hash"] for r in rows]
            known = conn.scalar(
                sa.select(sa.func.count())
                .select_from(items)
                .where(items.c.feed_id == feed_id, items.c.key_hash.in_(hashes))
            )
            if known:
                return False  # recorded already, under one of its keys
            if insert_ignore(conn, items, rows, ("feed_id", "key_hash")) < len(rows):
                raise _RecordedElsewhere  # another replica won the race: roll back
            item_id = conn.scalar(
                sa.select(items.c.id).where(
                    items.c.feed_id == feed_id, items.c.key_hash == hashes[0]
                )
            )
            conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id)
                .values(items_seen=feeds.c.items_seen + 1)
            )
            if not found:
                return True
            article_id = conn.execute(
                articles.insert().values(
                    item_id=item_id,
                    url=article.url[:2048],  # the column's length (PostgreSQL enforces it)
                    title=article.title[:2000],
                    source=article.source[:200],
                    published_at=article.published,
                    text_source=article.text_source,
                    created_at=now,
                    story_id=story_id,
                    language=article.language,
                    snippet=snippet[:1000] or None,
                )
            ).inserted_primary_key[0]
            conn.execute(
                matches.insert(),
                [
                    {
                        "article_id": article_id,
                        "topic_id": m.topic_id,
                        "hits": [asdict(h) for h in m.hits[:50]],
                    }
                    for m in found
                ],
            )
            enqueue_alerts(conn, article_id, story_id, Outlet(article.source, article.url), alerts)
            insert_archived(conn, archive_row(feed_id, article, found, article_id, now))
            note_skipped(conn, [m.topic_id for m in found])
        return True
