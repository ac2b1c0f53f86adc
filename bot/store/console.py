"""Read-only summaries the web console shows: per-day counts, feed schedule, chats.

Each is one grouped query over indexed columns, so a page costs the same with
100,000 archived articles as with 100 (bench/console_bench.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.store.schema import archive, articles, chats, feeds, matches, outbox, subscriptions


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat as the subscribers page shows it."""

    chat_id: int
    active: bool
    paused: bool
    mode: str
    language: str | None
    timezone: str | None
    quiet: str | None
    topics: tuple[str, ...]
    deactivated_reason: str | None
    alerts: dict[str, int]


def _day(conn: sa.Connection, column: sa.ColumnElement) -> sa.ColumnElement:
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.func.substr(sa.func.datetime(column), 1, 10)


def days_back(n: int, today: date | None = None) -> list[str]:
    """The last ``n`` days (oldest first) as YYYY-MM-DD."""
    today = today or utcnow().date()
    return [(today - timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


class ConsoleQueries:
    """The console's summaries."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def items_per_day(self, days: int = 7) -> dict[int, dict[str, int]]:
        """Archived articles per feed per day (the feeds page's sparklines).

        One range count per day over the created_at index: no function per row.
        """
        out: dict[int, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for day in days_back(days):
                start = datetime.fromisoformat(day).replace(tzinfo=UTC)
                query = (
                    sa.select(archive.c.feed_id, sa.func.count())
                    .where(
                        archive.c.created_at >= start,
                        archive.c.created_at < start + timedelta(days=1),
                    )
                    .group_by(archive.c.feed_id)
                )
                for feed_id, n in conn.execute(query):
                    out.setdefault(feed_id, {})[day] = n
        return out

    def schedule(self) -> dict[str, tuple[bool, datetime | None]]:
        """Per configured URL: enabled in the store, and its next poll."""
        query = sa.select(feeds.c.config_url, feeds.c.enabled, feeds.c.next_poll_at, feeds.c.id)
        with self.engine.connect() as conn:
            return {r.config_url: (r.enabled, as_utc(r.next_poll_at)) for r in conn.execute(query)}

    def feed_ids(self) -> dict[str, int]:
        """Configured URL -> the store's feed id."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(feeds.c.config_url, feeds.c.id)).all())

    def alerts_per_topic_day(self, days: int = 30) -> dict[str, dict[str, int]]:
        """Matched articles per topic per day over the last ``days`` days."""
        since = utcnow() - timedelta(days=days)
        with self.engine.connect() as conn:
            day = _day(conn, articles.c.created_at).label("day")
            query = (
                sa.select(matches.c.topic_id, day, sa.func.count())
                .select_from(matches.join(articles, articles.c.id == matches.c.article_id))
                .where(articles.c.created_at >= since)
                .group_by(matches.c.topic_id, day)
            )
            out: dict[str, dict[str, int]] = {}
            for topic, d, n in conn.execute(query):
                out.setdefault(topic, {})[d] = n
            return out

    def chats(self) -> list[ChatRow]:
        """Every chat with its topics, mode, state and alert counts by status."""
        with self.engine.connect() as conn:
            topics: dict[int, list[str]] = {}
            for chat_id, topic in conn.execute(
                sa.select(subscriptions.c.chat_id, subscriptions.c.topic_id).order_by(
                    subscriptions.c.topic_id
                )
            ):
                topics.setdefault(chat_id, []).append(topic)
            alerts: dict[int, dict[str, int]] = {}
            for chat_id, status, n in conn.execute(
                sa.select(outbox.c.chat_id, outbox.c.status, sa.func.count()).group_by(
                    outbox.c.chat_id, outbox.c.status
                )
            ):
                alerts.setdefault(chat_id, {})[status] = n
            rows = conn.execute(sa.select(chats).order_by(chats.c.chat_id)).all()
        return [
            ChatRow(
                r.chat_id,
                r.active,
                r.paused,
                r.mode,
                r.language,
                r.timezone,
                f"{r.quiet_start}–{r.quiet_end}" if r.quiet_start and r.quiet_end else None,
                tuple(topics.get(r.chat_id, ())),
                r.deactivated_reason,
                alerts.get(r.chat_id, {}),
            )
            for r in rows
        ]
