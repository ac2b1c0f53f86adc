"""Digest bookkeeping: alerts held for digest chats, and turning them into messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.store.base import insert_ignore
from bot.store.schema import articles, chats, matches, outbox


@dataclass(frozen=True, slots=True)
class DigestChat:
    """A chat in hourly or daily digest mode."""

    chat_id: int
    mode: str
    digest_at: str | None
    last_digest_at: datetime | None


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """One alert waiting for its chat's next digest."""

    outbox_id: int
    title: str
    url: str
    source: str
    topics: tuple[str, ...]


class DigestStore:
    """Queries behind digest mode."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def chats(self) -> list[DigestChat]:
        """Active chats that receive digests."""
        query = sa.select(
            chats.c.chat_id, chats.c.mode, chats.c.digest_at, chats.c.last_digest_at
        ).where(chats.c.active, chats.c.mode != "instant")
        with self.engine.connect() as conn:
            return [DigestChat(r[0], r[1], r[2], as_utc(r[3])) for r in conn.execute(query)]

    def held(self, chat_id: int) -> list[HeldAlert]:
        """The chat's held alerts, oldest first, with their article and matched topics."""
        query = (
            sa.select(
                outbox.c.id, articles.c.title, articles.c.url, articles.c.source, matches.c.topic_id
            )
            .join(articles, articles.c.id == outbox.c.article_id)
            .join(matches, matches.c.article_id == articles.c.id)
            .where(outbox.c.chat_id == chat_id, outbox.c.status == "held")
            .order_by(outbox.c.id, matches.c.topic_id)
        )
        grouped: dict[int, list] = {}
        with self.engine.connect() as conn:
            for oid, title, url, source, topic in conn.execute(query):
                grouped.setdefault(oid, [title, url, source, []])[3].append(topic)
        return [HeldAlert(oid, t, u, s, tuple(ts)) for oid, (t, u, s, ts) in grouped.items()]

    def commit(self, chat_id: int, key: str, parts: Sequence[str], held_ids: Sequence[int]) -> None:
        """Queue the digest messages and retire the held alerts, in one transaction."""
        now = utcnow()
        rows = [
            {
                "chat_id": chat_id,
                "digest_key": f"{key}:{i}",
                "text": text,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for i, text in enumerate(parts)
        ]
        with self.engine.begin() as conn:
            insert_ignore(conn, outbox, rows, ("chat_id", "digest_key"))
            if held_ids:
                conn.execute(
                    outbox.update().where(outbox.c.id.in_(list(held_ids))).values(status="digested")
                )
            conn.execute(
                chats.update().where(chats.c.chat_id == chat_id).values(last_digest_at=now)
            )
