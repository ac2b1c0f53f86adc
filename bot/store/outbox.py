"""The delivery outbox: an alert row exists before any send is tried.

Rows go ``pending`` -> ``sent`` (or ``failed`` for a permanent refusal, or
``dropped`` when the chat blocked the bot); the rows of digest chats, and of chats
in their quiet hours, wait as ``held`` until a digest takes them (``digested``).
An alert's text is rendered when it is queued, for its chat (language, time zone,
its own topics), so what is stored is what is sent; the "also reported by" line
and the buttons are added from the row at each send or edit.
One row per chat and story: when another outlet runs the same story, the row
gains an "also reported by" outlet, and a sent row is flagged ``needs_edit`` so
the message is updated in place rather than a second alert sent. A crash between
a successful send and ``mark_sent`` re-sends the messages then in flight (one per
chat at most, bot/delivery/drain.py) on restart; Telegram's API leaves no way to
close that window. A store that fails ``mark_sent`` without a crash re-sends
nothing: the Deliverer keeps the send and records it once the store is back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import as_utc, utcnow
from bot.core.localtime import in_window, zone
from bot.core.message import Alert
from bot.store.base import insert_ignore
from bot.store.schema import articles, chats, outbox


@dataclass(frozen=True, slots=True)
class Outlet:
    """Another outlet that ran the same story: its name and its article's link."""

    name: str
    url: str = ""


def outlets(value: object) -> tuple[Outlet, ...]:
    """The stored "also reported by" list (older rows hold bare names)."""
    out = []
    for item in value or ():  # type: ignore[attr-defined]
        if isinstance(item, dict):
            out.append(Outlet(str(item.get("name", "")), str(item.get("url", ""))))
        else:
            out.append(Outlet(str(item)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """One message waiting to be sent, or a sent one waiting to be edited."""

    id: int
    chat_id: int
    text: str
    attempts: int
    message_id: int | None = None
    also: tuple[Outlet, ...] = ()
    lang: str | None = None
    topics: tuple[str, ...] = ()
    article_id: int | None = None  # None for a digest

    @property
    def is_edit(self) -> bool:
        """Already sent: update the message in place."""
        return self.message_id is not None


def _holding(conn: sa.Connection, targets: list[int], now: datetime) -> set[int]:
    """The chats whose alerts wait: digest mode, or in their quiet hours now."""
    query = sa.select(
        chats.c.chat_id, chats.c.mode, chats.c.timezone, chats.c.quiet_start, chats.c.quiet_end
    ).where(chats.c.chat_id.in_(targets))
    return {
        r.chat_id
        for r in conn.execute(query)
        if r.mode != "instant" or in_window(now, zone(r.timezone), r.quiet_start, r.quiet_end)
    }


def enqueue_alerts(
    conn: sa.Connection,
    article_id: int,
    story_id: int | None,
    outlet: Outlet,
    alerts: Sequence[Alert],
) -> None:
    """Queue alerts (inside the caller's transaction), once per chat and story.

    A chat already alerted to this story gets ``outlet`` added to its "also
    reported by" instead (a sent alert is then edited in place). Digest chats,
    and chats in their quiet hours, have theirs held for the next digest.
    """
    now = utcnow()
    targets = [a.chat_id for a in alerts]
    held = _holding(conn, targets, now) if targets else set()
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
    for alert in alerts:
        row = earlier.get(alert.chat_id)
        if row is None:
            rows.append(
                {
                    "chat_id": alert.chat_id,
                    "article_id": article_id,
                    "story_id": story_id,
                    "text": alert.text,
                    "lang": alert.lang,
                    "topics": list(alert.topics),
                    "status": "held" if alert.chat_id in held else "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            continue
        known = {o.name for o in outlets(row.also)}
        if outlet.name != row.source and outlet.name not in known:
            also = [{"name": o.name, "url": o.url} for o in outlets(row.also)]
            conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id)
                .values(
                    also=[*also, {"name": outlet.name, "url": outlet.url}],
                    needs_edit=row.status == "sent",
                    next_attempt_at=now,
                )
            )
    insert_ignore(conn, outbox, rows, ("chat_id", "article_id"))


# Once per message sent: built once, so only its parameters change (no statement is
# rebuilt and re-keyed per send).
_MARK_SENT = (
    outbox.update()
    .where(outbox.c.id == sa.bindparam("alert"))
    .values(
        status="sent",
        sent_at=sa.bindparam("at"),
        message_id=sa.bindparam("message"),
        attempts=outbox.c.attempts + 1,
        last_error=None,
    )
)


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
                outbox.c.lang,
                outbox.c.topics,
                outbox.c.article_id,
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
                    outlets(r.also),
                    r.lang,
                    tuple(r.topics or ()),
                    r.article_id,
                )
                for r in conn.execute(query)
            ]

    def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting send or edit is due (None: nothing waits).

        Lets delivery sleep until then instead of reading the outbox every second.
        """
        waiting = sa.or_(
            outbox.c.status == "pending", (outbox.c.status == "sent") & outbox.c.needs_edit
        )
        with self.engine.connect() as conn:
            when = conn.execute(sa.select(sa.func.min(outbox.c.next_attempt_at)).where(waiting))
            return as_utc(when.scalar())

    def mark_edited(self, alert_id: int) -> None:
        """The message now names every outlet known so far."""
        self._set(outbox.c.id == alert_id, needs_edit=False, last_error=None)

    def _set(self, where: sa.ColumnElement[bool], **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(where).values(**values))

    def mark_sent(self, alert_id: int, message_id: int) -> None:
        """Telegram accepted the message."""
        params = {"alert": alert_id, "at": utcnow(), "message": message_id}
        with self.engine.begin() as conn:
            conn.execute(_MARK_SENT, params)

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

    def row(self, alert_id: int) -> PendingAlert | None:
        """One outbox row (a pressed alert button names it), whatever its status."""
        query = sa.select(outbox).where(outbox.c.id == alert_id)
        with self.engine.connect() as conn:
            r = conn.execute(query).first()
        if r is None:
            return None
        return PendingAlert(
            r.id,
            r.chat_id,
            r.text,
            r.attempts,
            r.message_id,
            outlets(r.also),
            r.lang,
            tuple(r.topics or ()),
            r.article_id,
        )

    def counts(self) -> dict[str, int]:
        """How many rows are in each status."""
        query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        with self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}
