"""Chats, their topic subscriptions, and how each wants its alerts.

A chat's language, time zone and quiet hours live on its row; ``recipients``
hands the pipeline everything it needs to render an alert for each chat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.store.base import insert_ignore
from bot.store.schema import chats, mutes, outbox, subscriptions


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """How a chat wants its alerts."""

    paused: bool
    mode: str
    digest_at: str | None
    muted: dict[str, datetime | None]
    language: str | None = None  # None: not chosen (replies follow the sender's app)
    timezone: str | None = None  # None: UTC
    quiet: tuple[str, str] | None = None  # local HH:MM start and end
    skipped: int = 0  # alerts not queued while paused


@dataclass(frozen=True, slots=True)
class Recipient:
    """A chat an article goes to: the matched topics it follows, its language and zone."""

    chat_id: int
    topics: frozenset[str]
    language: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class ChatCounts:
    """Plain counts for admins' /stats."""

    chats: int  # active chats that follow at least one topic
    groups: int  # of which groups and channels
    paused: int
    subscriptions: int


def _wanting(topic_ids: list[str], *, paused: bool) -> sa.Select:
    """(chat, topic) pairs of active chats following ``topic_ids`` and not muting them."""
    muted = sa.exists().where(
        mutes.c.chat_id == subscriptions.c.chat_id,
        mutes.c.topic_id == subscriptions.c.topic_id,
        mutes.c.until > utcnow(),
    )
    return (
        sa.select(subscriptions.c.chat_id, subscriptions.c.topic_id)
        .join(chats, chats.c.chat_id == subscriptions.c.chat_id)
        .where(
            subscriptions.c.topic_id.in_(topic_ids),
            chats.c.active,
            chats.c.paused if paused else ~chats.c.paused,
            ~muted,
        )
    )


def note_skipped(conn: sa.Connection, topic_ids: Iterable[str]) -> None:
    """Count one skipped alert for each paused chat that would have had this article."""
    ids = list(topic_ids)
    if not ids:
        return
    paused = {chat for chat, _ in conn.execute(_wanting(ids, paused=True))}
    if paused:
        conn.execute(
            chats.update()
            .where(chats.c.chat_id.in_(sorted(paused)))
            .values(skipped=chats.c.skipped + 1)
        )


class SubscriptionStore:
    """Who wants which topics; a chat that blocked the bot is kept but inactive."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _ensure_chat(self, conn: sa.Connection, chat_id: int, language: str | None = None) -> None:
        row = {"chat_id": chat_id, "active": True, "created_at": utcnow(), "language": language}
        if not insert_ignore(conn, chats, [row], ("chat_id",)):
            conn.execute(
                chats.update()
                .where(chats.c.chat_id == chat_id)
                .values(
                    active=True,
                    deactivated_reason=None,
                    language=sa.func.coalesce(chats.c.language, language),
                )
            )

    def subscribe(self, chat_id: int, topic_id: str, language: str | None = None) -> bool:
        """Subscribe; False when the chat already was.

        ``language``: what the bot speaks in this chat, unless it was chosen already
        (the first subscriber's app language, so that alerts are in it).
        """
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id, language)
            row = {"chat_id": chat_id, "topic_id": topic_id, "created_at": utcnow()}
            return bool(insert_ignore(conn, subscriptions, [row], ("chat_id", "topic_id")))

    def welcome(self, chat_id: int, language: str | None = None) -> None:
        """The bot was added to (or unblocked in) a chat: it is active again."""
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id, language)

    def unsubscribe(self, chat_id: int, topic_id: str) -> bool:
        """Unsubscribe; False when the chat was not subscribed."""
        with self.engine.begin() as conn:
            done = conn.execute(
                subscriptions.delete().where(
                    subscriptions.c.chat_id == chat_id, subscriptions.c.topic_id == topic_id
                )
            )
            return bool(done.rowcount)

    def topics_of(self, chat_id: int) -> list[str]:
        """The topic ids a chat subscribes to."""
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.select(subscriptions.c.topic_id)
                    .where(subscriptions.c.chat_id == chat_id)
                    .order_by(subscriptions.c.topic_id)
                )
            )

    def subscribers(self, topic_ids: Iterable[str]) -> dict[int, set[str]]:
        """Chats that want alerts for any of ``topic_ids`` now: active, not paused, not muted."""
        ids = list(topic_ids)
        out: dict[int, set[str]] = defaultdict(set)
        if not ids:
            return out
        with self.engine.connect() as conn:
            for chat_id, topic_id in conn.execute(_wanting(ids, paused=False)):
                out[chat_id].add(topic_id)
        return out

    def recipients(self, topic_ids: Iterable[str]) -> list[Recipient]:
        """``subscribers``, with each chat's language and time zone, by chat id."""
        wanted = self.subscribers(topic_ids)
        if not wanted:
            return []
        query = sa.select(chats.c.chat_id, chats.c.language, chats.c.timezone).where(
            chats.c.chat_id.in_(list(wanted))
        )
        with self.engine.connect() as conn:
            prefs = {r.chat_id: r for r in conn.execute(query)}
        return [
            Recipient(chat, frozenset(topics), prefs[chat].language, prefs[chat].timezone)
            for chat, topics in sorted(wanted.items())
        ]

    def counts(self) -> ChatCounts:
        """How many chats follow topics, how many are groups or paused; subscriptions."""
        following = sa.select(subscriptions.c.chat_id).distinct().subquery()
        query = (
            sa.select(
                sa.func.count(),
                sa.func.count().filter(chats.c.chat_id < 0),
                sa.func.count().filter(chats.c.paused),
            )
            .select_from(chats)
            .join(following, following.c.chat_id == chats.c.chat_id)
            .where(chats.c.active)
        )
        total = (
            sa.select(sa.func.count())
            .select_from(subscriptions.join(chats, chats.c.chat_id == subscriptions.c.chat_id))
            .where(chats.c.active)
        )
        with self.engine.connect() as conn:
            n, groups, paused = conn.execute(query).one()
            return ChatCounts(n, groups, paused, conn.scalar(total) or 0)

    def settings_of(self, chat_id: int) -> ChatSettings:
        """A chat's delivery settings (defaults for a chat never seen)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(chats).where(chats.c.chat_id == chat_id)).first()
            muted = conn.execute(
                sa.select(mutes.c.topic_id, mutes.c.until).where(
                    mutes.c.chat_id == chat_id, mutes.c.until > utcnow()
                )
            ).all()
        if row is None:
            return ChatSettings(False, "instant", None, {})
        quiet = (row.quiet_start, row.quiet_end) if row.quiet_start and row.quiet_end else None
        return ChatSettings(
            row.paused,
            row.mode,
            row.digest_at,
            {t: as_utc(u) for t, u in muted},
            row.language,
            row.timezone,
            quiet,
            row.skipped,
        )

    def _update_chat(self, chat_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id)
            conn.execute(chats.update().where(chats.c.chat_id == chat_id).values(**values))

    def set_paused(self, chat_id: int, paused: bool) -> int:
        """Pause or resume all alerts for a chat; returns how many were skipped meanwhile."""
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id)
            where = chats.c.chat_id == chat_id
            skipped = conn.scalar(sa.select(chats.c.skipped).where(where)) or 0
            conn.execute(chats.update().where(where).values(paused=paused, skipped=0))
        return 0 if paused else skipped

    def set_language(self, chat_id: int, language: str) -> None:
        """The language newsbot speaks in this chat, chosen with /language."""
        self._update_chat(chat_id, language=language)

    def set_timezone(self, chat_id: int, name: str | None) -> None:
        """The chat's IANA time zone (validated by the caller); None for UTC."""
        self._update_chat(chat_id, timezone=name)

    def set_quiet(self, chat_id: int, window: tuple[str, str] | None) -> None:
        """Quiet hours, local ``(start, end)``; None lifts them."""
        start, end = window or (None, None)
        self._update_chat(chat_id, quiet_start=start, quiet_end=end)

    def set_mode(self, chat_id: int, mode: str, digest_at: str | None = None) -> None:
        """Instant alerts, or an hourly/daily digest (the period starts now)."""
        self._update_chat(chat_id, mode=mode, digest_at=digest_at, last_digest_at=utcnow())

    def mute(self, chat_id: int, topic_id: str, until: datetime | None) -> None:
        """Silence one topic for a chat until ``until`` (None lifts the mute)."""
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id)
            where = (mutes.c.chat_id == chat_id) & (mutes.c.topic_id == topic_id)
            conn.execute(mutes.delete().where(where))
            if until is not None:
                conn.execute(mutes.insert().values(chat_id=chat_id, topic_id=topic_id, until=until))

    def deactivate(self, chat_id: int, reason: str) -> None:
        """The bot was blocked or removed: stop alerting this chat until it returns."""
        with self.engine.begin() as conn:
            conn.execute(
                chats.update()
                .where(chats.c.chat_id == chat_id)
                .values(active=False, deactivated_reason=reason[:500])
            )

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: move its subscriptions and queued alerts."""
        with self.engine.begin() as conn:
            self._ensure_chat(conn, new_chat_id)
            mine = (
                conn.execute(
                    sa.select(subscriptions.c.topic_id).where(
                        subscriptions.c.chat_id == old_chat_id
                    )
                )
                .scalars()
                .all()
            )
            rows = [{"chat_id": new_chat_id, "topic_id": t, "created_at": utcnow()} for t in mine]
            insert_ignore(conn, subscriptions, rows, ("chat_id", "topic_id"))
            conn.execute(subscriptions.delete().where(subscriptions.c.chat_id == old_chat_id))
            conn.execute(
                outbox.update()
                .where(outbox.c.chat_id == old_chat_id, outbox.c.status == "pending")
                .values(chat_id=new_chat_id)
            )
            conn.execute(
                chats.update()
                .where(chats.c.chat_id == old_chat_id)
                .values(active=False, deactivated_reason=f"migrated to {new_chat_id}")
            )

    def sync_channels(self, channels: dict[int, tuple[str, ...]]) -> None:
        """Make configured broadcast channels subscribe to exactly their topics."""
        for chat_id, topics in channels.items():
            for topic in set(self.topics_of(chat_id)) - set(topics):
                self.unsubscribe(chat_id, topic)
            for topic in topics:
                self.subscribe(chat_id, topic)
