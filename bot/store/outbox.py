"""The delivery outbox: an alert row exists before any send is tried.

Rows go ``pending`` -> ``sent`` (or ``failed`` for a permanent refusal, or
``dropped`` when the chat blocked the bot); digest chats' rows wait as ``held``.
One row per chat and story: when another outlet runs the same story, the row
gains an "also reported by" source, and a sent row is flagged ``needs_edit`` so
the message is updated in place rather than a second alert sent. A crash between a successful send
and ``mark_sent`` re-sends that one message on restart; that is the only
duplicate window, and Telegram's API leaves no way to close it.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store.base import insert_ignore
from bot.store.schema import articles, chats, outbox


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """One message waiting to be sent, or a sent one waiting to be edited."""

    id: int
    chat_id: int
    text: str
    attempts: int
    message_id: int | None = None
    also: tuple[str, ...] = ()

    @property
    def is_edit(self) -> bool:
        """Already sent: update the message in place."""
        return self.message_id is not None

    @property
    def full_text(self) -> str:
        """The alert, with the other outlets that ran the same story."""
        if not self.also:
            return self.text
        names = ", ".join(html.escape(n) for n in self.also[:20])
        return f"{self.text}\n\n<i>Also reported by: {names}</i>"


def enqueue_alerts(
    conn: sa.Connection,
    article_id: int,
    story_id: int | None,
    source: str,
    alerts: Sequence[tuple[int, str]],
) -> None:
    """Queue alerts (inside the caller's transaction), once per chat and story."""
    now = utcnow()
    targets = [chat for chat, _ in alerts]
    digest = set(
        conn.scalars(
            sa.select(chats.c.chat_id).where(
                chats.c.chat_id.in_(targets), chats.c.mode != "instant"
            )
        )
    )
    earlier = {}
    if story_id is not None:
        query = (
            sa.select(
                outbox.c.id, outbox.c.chat_id, outbox.c.status, outbox.c.also, articles.c.source
            )
            .join(articles, articles.c.id == outbox.c.article_id)
            .where(outbox.c.story_id == story_id, outbox.c.chat_id.in_(targets))
        )
        earlier = {row.chat_id: row for row in conn.execute(query)}
    rows = []
    for chat_id, text in alerts:
        row = earlier.get(chat_id)
        if row is None:
            rows.append(
                {
                    "chat_id": chat_id,
                    "article_id": article_id,
                    "story_id": story_id,
                    "text": text,
                    "status": "held" if chat_id in digest else "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        elif source != row.source and source not in (row.also or []):
            conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id)
                .values(
                    also=[*(row.also or []), source],
                    needs_edit=row.status == "sent",
                    next_attempt_at=now,
                )
            )
    insert_ignore(conn, outbox, rows, ("chat_id", "article_id"))


class Outbox:
    """Queue operations over the ``outbox`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def due(
        self, limit: int = 100, now: datetime | None = None, *, skip_chats: Collection[int] = ()
    ) -> list[PendingAlert]:
        """Pending sends and edits whose next attempt is due, oldest first.

        ``skip_chats``: chats a delivery lane is already working through.
        """
        waiting = sa.or_(
            outbox.c.status == "pending", (outbox.c.status == "sent") & outbox.c.needs_edit
        )
        if skip_chats:
            waiting = waiting & outbox.c.chat_id.not_in(list(skip_chats))
        query = (
            sa.select(
                outbox.c.id,
                outbox.c.chat_id,
                outbox.c.text,
                outbox.c.attempts,
                outbox.c.message_id,
                outbox.c.also,
                outbox.c.status,
            )
            .where(waiting, outbox.c.next_attempt_at <= (now or utcnow()))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                PendingAlert(
                    r.id,
                    r.chat_id,
                    r.text,
                    r.attempts,
                    r.message_id if r.status == "sent" else None,
                    tuple(r.also or ()),
                )
                for r in conn.execute(query)
            ]

    def mark_edited(self, alert_id: int) -> None:
        """The message now names every outlet known so far."""
        self._set(outbox.c.id == alert_id, needs_edit=False, last_error=None)

    def _set(self, where: sa.ColumnElement[bool], **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(where).values(**values))

    def mark_sent(self, alert_id: int, message_id: int) -> None:
        """Telegram accepted the message."""
        self._set(
            outbox.c.id == alert_id,
            status="sent",
            sent_at=utcnow(),
            message_id=message_id,
            attempts=outbox.c.attempts + 1,
            last_error=None,
        )

    def retry_at(self, alert_id: int, when: datetime, error: str) -> None:  # sends and edits
        """A transient failure: try again at ``when``."""
        self._set(
            outbox.c.id == alert_id,
            next_attempt_at=when,
            last_error=error[:1000],
            attempts=outbox.c.attempts + 1,
        )

    def mark_failed(self, alert_id: int, error: str) -> None:
        """Telegram refused this message for good (kept, with the reason, for admins)."""
        self._set(
            outbox.c.id == alert_id,
            status="failed",
            last_error=error[:1000],
            attempts=outbox.c.attempts + 1,
        )

    def drop_chat(self, chat_id: int, reason: str) -> None:
        """The chat blocked the bot: its pending alerts can never be delivered."""
        self._set(
            (outbox.c.chat_id == chat_id) & (outbox.c.status == "pending"),
            status="dropped",
            last_error=reason[:1000],
        )

    def counts(self) -> dict[str, int]:
        """How many rows are in each status."""
        query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        with self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}
