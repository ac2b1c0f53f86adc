"""Recent articles, matched or not, for the console's archive and "Try on past news".

Each row keeps what the rules read (title and text, capped at ``BODY_CAP``) plus
what matched. Search uses the database's own full-text index (bot.store.fulltext).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.core.models import Article, TopicMatch
from bot.store.fulltext import FTS, has_words, search
from bot.store.schema import archive, archive_topics, outbox

BODY_CAP = 8000  # characters of text kept per article: the disk budget (bench/RESULTS.md)
PAGE_SIZE = 50
COUNT_CAP = 10_000  # the archive page says "10,000+" beyond this: counting costs per row
LANGUAGES_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One chat's alert for an archived article: its state, when, and why it failed."""

    chat_id: int
    status: str
    at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ArchivedArticle:
    """One archived article, as the console lists it."""

    id: int
    feed_id: int
    article_id: int | None
    url: str
    title: str
    body: str
    source: str
    language: str | None
    published_at: datetime | None
    created_at: datetime
    topics: tuple[str, ...]
    terms: tuple[str, ...]
    deliveries: tuple[Delivery, ...] = ()
    also: tuple[tuple[str, str], ...] = field(default=())  # other outlets: (name, url)


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What the archive page asks for; every field optional."""

    text: str = ""
    topic: str = ""
    feed_id: int | None = None
    language: str = ""
    day: str = ""  # YYYY-MM-DD, UTC
    matched_only: bool = True
    page: int = 1


def archive_row(
    feed_id: int,
    article: Article,
    found: Sequence[TopicMatch],
    article_id: int | None,
    now: datetime,
) -> dict:
    """The archive row for one article (written with the article, or alone if unmatched)."""
    body = (article.body or article.summary or "")[:BODY_CAP]
    terms = sorted({h.text.casefold(): h.text for m in found for h in m.hits[:50]}.values())[:100]
    return {
        "feed_id": feed_id,
        "article_id": article_id,
        "url": article.url[:2048],
        "title": article.title[:2000],
        "body": body,
        "source": article.source[:200],
        "language": article.language,
        "published_at": article.published,
        "created_at": now,
        "topics": [m.topic_id for m in found],
        "terms": terms,
        "matched": bool(found),
    }


_INSERT = archive.insert()  # built once: one per unmatched article, only the values change


def insert_archived(conn: sa.Connection, row: dict) -> None:
    """Insert one archive row and its topic index rows."""
    archive_id = conn.execute(_INSERT, row).inserted_primary_key[0]
    if row["topics"]:
        conn.execute(
            archive_topics.insert(),
            [
                {"archive_id": archive_id, "topic_id": t, "created_at": row["created_at"]}
                for t in dict.fromkeys(row["topics"])
            ],
        )


class ArchiveStore:
    """The archive: add, search, list, prune; read by the console."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._languages: tuple[float, list[str]] | None = None

    def add(self, feed_id: int, article: Article, found: Sequence[TopicMatch] = ()) -> None:
        """Archive an article that was not recorded with an alert (usually: matched nothing)."""
        with self.engine.begin() as conn:
            insert_archived(conn, archive_row(feed_id, article, found, None, utcnow()))

    def prune(self, older_than_days: float) -> int:
        """Forget archived articles older than ``older_than_days``."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        old = sa.select(archive.c.id).where(archive.c.created_at < cutoff)
        with self.engine.begin() as conn:
            conn.execute(archive_topics.delete().where(archive_topics.c.archive_id.in_(old)))
            return conn.execute(archive.delete().where(archive.c.created_at < cutoff)).rowcount

    def _filtered(self, conn: sa.Connection, q: ArchiveQuery) -> sa.Select:
        query = sa.select(archive)
        if q.matched_only:
            query = query.where(archive.c.matched)
        if q.topic:
            query = query.where(
                archive.c.id.in_(
                    sa.select(archive_topics.c.archive_id).where(
                        archive_topics.c.topic_id == q.topic
                    )
                )
            )
        if q.feed_id is not None:
            query = query.where(archive.c.feed_id == q.feed_id)
        if q.language:
            query = query.where(archive.c.language == q.language)
        if q.day:
            start = datetime.fromisoformat(q.day).replace(tzinfo=as_utc(utcnow()).tzinfo)
            query = query.where(
                archive.c.created_at >= start, archive.c.created_at < start + timedelta(days=1)
            )
        if q.text.strip() and has_words(q.text):
            query = search(conn, query, q.text)
        return query

    def find(self, q: ArchiveQuery) -> list[ArchivedArticle]:
        """One page of the archive, newest first, with each row's deliveries and outlets."""
        with self.engine.connect() as conn:
            query = self._filtered(conn, q)
            if q.text.strip() and conn.dialect.name != "postgresql":
                # Ids grow with created_at (rows are written as they are recorded).
                query = query.order_by(FTS.c.rowid.desc())
            else:
                query = query.order_by(archive.c.created_at.desc(), archive.c.id.desc())
            rows = conn.execute(query.limit(PAGE_SIZE).offset((max(q.page, 1) - 1) * PAGE_SIZE))
            found = [self._article(r) for r in rows]
            return self._with_deliveries(conn, found)

    @staticmethod
    def _article(r: sa.Row) -> ArchivedArticle:
        return ArchivedArticle(
            id=r.id,
            feed_id=r.feed_id,
            article_id=r.article_id,
            url=r.url,
            title=r.title,
            body=r.body,
            source=r.source,
            language=r.language,
            published_at=as_utc(r.published_at),
            created_at=as_utc(r.created_at),  # type: ignore[arg-type]
            topics=tuple(r.topics or ()),
            terms=tuple(r.terms or ()),
        )

    def _with_deliveries(
        self, conn: sa.Connection, found: list[ArchivedArticle]
    ) -> list[ArchivedArticle]:
        ids = [a.article_id for a in found if a.article_id is not None]
        if not ids:
            return found
        query = sa.select(
            outbox.c.article_id,
            outbox.c.chat_id,
            outbox.c.status,
            outbox.c.sent_at,
            outbox.c.created_at,
            outbox.c.last_error,
            outbox.c.also,
        ).where(outbox.c.article_id.in_(ids))
        deliveries: dict[int, list[Delivery]] = {}
        also: dict[int, list[tuple[str, str]]] = {}
        for r in conn.execute(query):
            at = as_utc(r.sent_at or r.created_at)
            deliveries.setdefault(r.article_id, []).append(
                Delivery(r.chat_id, r.status, at, r.last_error)
            )
            for o in r.also or []:
                pair = (str(o.get("name", "")), str(o.get("url", "")))
                if pair not in also.setdefault(r.article_id, []):
                    also[r.article_id].append(pair)
        out = []
        for a in found:
            if a.article_id is None:
                out.append(a)
                continue
            out.append(
                replace(
                    a,
                    deliveries=tuple(deliveries.get(a.article_id, [])),
                    also=tuple(also.get(a.article_id, [])),
                )
            )
        return out

    def count(self, q: ArchiveQuery) -> int:
        """How many archived articles the query finds, counted up to ``COUNT_CAP`` + 1."""
        with self.engine.connect() as conn:
            ids = self._filtered(conn, q).with_only_columns(archive.c.id)
            sub = ids.limit(COUNT_CAP + 1).subquery()
            return conn.scalar(sa.select(sa.func.count()).select_from(sub)) or 0

    def languages(self) -> list[str]:
        """The languages archived articles are in (for the filter; a scan, so kept a while)."""
        now = time.monotonic()
        if self._languages is None or now - self._languages[0] > LANGUAGES_SECONDS:
            query = sa.select(archive.c.language).where(archive.c.language.is_not(None))
            with self.engine.connect() as conn:
                found = sorted(conn.scalars(query.distinct()))
            self._languages = (now, found)
        return self._languages[1]

    def each(self, batch: int = 2000) -> Iterator[tuple[int, Article, tuple[str, ...]]]:
        """Every archived article as the rules read it, newest first (for "Try")."""
        last: int | None = None
        while True:
            query = (
                sa.select(
                    archive.c.id,
                    archive.c.url,
                    archive.c.title,
                    archive.c.body,
                    archive.c.source,
                    archive.c.published_at,
                    archive.c.language,
                    archive.c.topics,
                )
                .order_by(archive.c.id.desc())
                .limit(batch)
            )
            if last is not None:
                query = query.where(archive.c.id < last)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for r in rows:
                article = Article(
                    r.url,
                    r.title,
                    "",
                    r.body,
                    r.source,
                    as_utc(r.published_at),
                    "page",
                    r.language,
                )
                yield r.id, article, tuple(r.topics or ())
            last = rows[-1].id

    def chats_alerted(self) -> dict[int, int]:
        """Chats and how many alerts they have in the outbox (for the subscribers page)."""
        query = sa.select(outbox.c.chat_id, sa.func.count()).group_by(outbox.c.chat_id)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())


__all__ = ["ArchiveQuery", "ArchiveStore", "ArchivedArticle", "Delivery"]
