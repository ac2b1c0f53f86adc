"""Chats and their topic subscriptions."""

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


class SubscriptionStore:
    """Who wants which topics; a chat that blocked the bot is kept but inactive."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _ensure_chat(self, conn: sa.Connection, chat_id: int) -> None:
        row = {"chat_id": chat_id, "active": True, "created_at": utcnow()}
        if not insert_ignore(conn, chats, [row], ("chat_id",)):
            conn.execute(
                chats.update()
                .where(chats.c.chat_id == chat_id)
                .values(active=True, deactivated_reason=None)
            )

    def subscribe(self, chat_id: int, topic_id: str) -> bool:
        """Subscribe; False when the chat already was."""
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id)
            row = {"chat_id": chat_id, "topic_id": topic_id, "created_at": utcnow()}
            return bool(insert_ignore(conn, subscriptions, [row], ("chat_id", "topic_id")))

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
        muted = sa.exists().where(
            mutes.c.chat_id == subscriptions.c.chat_id,
            mutes.c.topic_id == subscriptions.c.topic_id,
            mutes.c.until > utcnow(),
        )
        query = (
            sa.select(subscriptions.c.chat_id, subscriptions.c.topic_id)
            .join(chats, chats.c.chat_id == subscriptions.c.chat_id)
            .where(subscriptions.c.topic_id.in_(ids), chats.c.active, ~chats.c.paused, ~muted)
        )
        with self.engine.connect() as conn:
            for chat_id, topic_id in conn.execute(query):
                out[chat_id].add(topic_id)
        return out

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
        return ChatSettings(row.paused, row.mode, row.digest_at, {t: as_utc(u) for t, u in muted})

    def _update_chat(self, chat_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            self._ensure_chat(conn, chat_id)
            conn.execute(chats.update().where(chats.c.chat_id == chat_id).values(**values))

    def set_paused(self, chat_id: int, paused: bool) -> None:
        """Pause or resume all alerts for a chat."""
        self._update_chat(chat_id, paused=paused)

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
