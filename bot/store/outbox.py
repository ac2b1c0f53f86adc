"""The delivery outbox: an alert row exists before any send is tried.

Rows go ``pending`` -> ``sent`` (or ``failed`` for a permanent refusal, or
``dropped`` when the chat blocked the bot). A crash between a successful send
and ``mark_sent`` re-sends that one message on restart; that is the only
duplicate window, and Telegram's API leaves no way to close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.store.base import utcnow
from bot.store.schema import outbox


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """One message waiting to be sent."""

    id: int
    chat_id: int
    text: str
    attempts: int


class Outbox:
    """Queue operations over the ``outbox`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def due(self, limit: int = 100, now: datetime | None = None) -> list[PendingAlert]:
        """Pending alerts whose next attempt is due, oldest first."""
        query = (
            sa.select(outbox.c.id, outbox.c.chat_id, outbox.c.text, outbox.c.attempts)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= (now or utcnow()))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [PendingAlert(*row) for row in conn.execute(query)]

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

    def retry_at(self, alert_id: int, when: datetime, error: str) -> None:
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

    def sent_to(self, chat_id: int) -> list[str]:
        """Texts already sent to a chat, oldest first (for tests and /stats)."""
        query = (
            sa.select(outbox.c.text)
            .where(outbox.c.chat_id == chat_id, outbox.c.status == "sent")
            .order_by(outbox.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query))
