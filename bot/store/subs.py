"""Chats and their topic subscriptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa

from bot.store.base import insert_ignore, utcnow
from bot.store.schema import chats, outbox, subscriptions


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
        """Active chats subscribed to any of ``topic_ids``, with the topics they want."""
        ids = list(topic_ids)
        out: dict[int, set[str]] = defaultdict(set)
        if not ids:
            return out
        query = (
            sa.select(subscriptions.c.chat_id, subscriptions.c.topic_id)
            .join(chats, chats.c.chat_id == subscriptions.c.chat_id)
            .where(subscriptions.c.topic_id.in_(ids), chats.c.active)
        )
        with self.engine.connect() as conn:
            for chat_id, topic_id in conn.execute(query):
                out[chat_id].add(topic_id)
        return out

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
