"""Digest bookkeeping: alerts held for digests or quiet hours, and turning them into messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.store.base import insert_ignore
from bot.store.outbox import Outlet, outlets
from bot.store.schema import articles, chats, matches, outbox


@dataclass(frozen=True, slots=True)
class DigestChat:
    """A chat whose alerts can be held: digest mode, quiet hours, or some held already."""

    chat_id: int
    mode: str
    digest_at: str | None
    last_digest_at: datetime | None
    language: str | None = None
    timezone: str | None = None
    quiet: tuple[str, str] | None = None
    paused: bool = False


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """One alert waiting for its chat's next digest.

    ``topics`` are the article's matched topics, strongest (most hits) first.
    """

    outbox_id: int
    title: str
    url: str
    source: str
    topics: tuple[str, ...]
    published: datetime | None = None
    held_at: datetime | None = None
    snippet: str = ""
    also: tuple[Outlet, ...] = ()


class DigestStore:
    """Queries behind digest mode and quiet hours."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def chats(self) -> list[DigestChat]:
        """Active chats that receive digests, have quiet hours, or have alerts held."""
        has_held = sa.exists().where(outbox.c.chat_id == chats.c.chat_id, outbox.c.status == "held")
        query = sa.select(chats).where(
            chats.c.active,
            sa.or_(chats.c.mode != "instant", chats.c.quiet_start.is_not(None), has_held),
        )
        with self.engine.connect() as conn:
            return [
                DigestChat(
                    r.chat_id,
                    r.mode,
                    r.digest_at,
                    as_utc(r.last_digest_at),
                    r.language,
                    r.timezone,
                    (r.quiet_start, r.quiet_end) if r.quiet_start and r.quiet_end else None,
                    r.paused,
                )
                for r in conn.execute(query)
            ]

    def held(self, chat_id: int) -> list[HeldAlert]:
        """The chat's held alerts, oldest first, with their article and matched topics."""
        query = (
            sa.select(
                outbox.c.id,
                outbox.c.created_at,
                outbox.c.also,
                articles.c.title,
                articles.c.url,
                articles.c.source,
                articles.c.published_at,
                articles.c.snippet,
                matches.c.topic_id,
                matches.c.hits,
            )
            .join(articles, articles.c.id == outbox.c.article_id)
            .join(matches, matches.c.article_id == articles.c.id)
            .where(outbox.c.chat_id == chat_id, outbox.c.status == "held")
            .order_by(outbox.c.id, matches.c.topic_id)
        )
        rows: dict[int, dict] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                item = rows.setdefault(r.id, {"row": r, "topics": []})
                item["topics"].append((-len(r.hits or ()), r.topic_id))
        return [
            HeldAlert(
                oid,
                item["row"].title,
                item["row"].url,
                item["row"].source,
                tuple(t for _, t in sorted(item["topics"])),
                as_utc(item["row"].published_at),
                as_utc(item["row"].created_at),
                item["row"].snippet or "",
                outlets(item["row"].also),
            )
            for oid, item in rows.items()
        ]

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
                    outbox.update()
                    .where(outbox.c.id.in_(list(held_ids)), outbox.c.status == "held")
                    .values(status="digested")
                )
            conn.execute(
                chats.update().where(chats.c.chat_id == chat_id).values(last_digest_at=now)
            )
