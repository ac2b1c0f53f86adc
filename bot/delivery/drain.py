"""Delivery: send due outbox rows through a sender, record each outcome.

The sender raises newsbot's own send errors (``bot.core.errors``), each handled
in its own way:

- ``RetryLater``: flood control; the row waits as long as Telegram asks and the
  round stops (sending more now would only extend the ban).
- ``ChatGone``: the bot was blocked or removed, or the chat does not exist; the
  chat is deactivated and its pending alerts dropped, with the reason logged.
- ``MessageRefused``: the message itself was refused; it is marked failed, kept for admins.
- ``ChatMoved``: a group became a supergroup; its rows move to the new id.
- ``SendUnavailable`` (timeout, network, 5xx): retried with capped exponential
  backoff for as long as it takes. A timeout may hide a message that did arrive:
  that is the one duplicate window Telegram's API leaves open.

The store failing is handled apart: when Telegram accepted a message but the
store cannot record it as sent (disk full, read-only, database gone), the
message id is kept in memory and nothing more is sent until the store takes a
write again; then the kept ids are recorded first. So a store failure alone
never repeats an alert, and a crash during one repeats at most the sends that
were in flight (``SEND_LANES``, one per chat), as any crash does.

An optional ``on_result`` hook hears every attempt's outcome (for metrics):
``"sent"``, ``"flood_wait"``, ``"timeout"``, ``"network"``, ``"refused"``,
``"chat_gone"`` or ``"migrated"``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta

from bot.config.settings import AlertSettings
from bot.core import i18n
from bot.core.clock import utcnow
from bot.core.errors import ChatGone, ChatMoved, MessageRefused, RetryLater, SendUnavailable
from bot.core.message import GROUP_PER_MINUTE, Keyboard
from bot.delivery.render import with_outlets
from bot.delivery.senders import Sender
from bot.store import Store
from bot.store.outbox import PendingAlert

log = logging.getLogger(__name__)
# Chats sent to at once. Each lane is one chat with one send in flight, so a crash
# repeats at most one alert per chat and SEND_LANES in all (the README's bound).
# Eight keep Telegram's 30 messages/s with answers of up to ~270 ms; fewer would
# cut that headroom for little gain, since the bound a subscriber sees is one.
SEND_LANES = 8


def round_robin(alerts: list[PendingAlert]) -> list[PendingAlert]:
    """Interleave chats (oldest first within each), so one busy chat cannot starve others."""
    rank: dict[int, int] = defaultdict(int)
    keyed = []
    for alert in alerts:
        keyed.append((rank[alert.chat_id], alert.id, alert))
        rank[alert.chat_id] += 1
    return [alert for *_, alert in sorted(keyed, key=lambda k: (k[0], k[1]))]


class Deliverer:
    """Drains the outbox; safe to run repeatedly and after any crash.

    Pacing: at most one message per ``per_chat_interval_seconds`` to a chat (Telegram
    allows about 1/s per chat); the Telegram client's rate limiter adds the 30/s
    overall and 20/min per group limits, spaced evenly (bot/telegram/app.py). After a
    flood-wait or an outage every send pauses, so a storm costs the requests already
    in flight (at most ``SEND_LANES``), not one per queued alert.
    """

    def __init__(
        self,
        store: Store,
        sender: Sender,
        settings: AlertSettings,
        *,
        on_result: Callable[[str], None] | None = None,
        buttons: Callable[[PendingAlert], Keyboard] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store, self.sender, self.settings = store, sender, settings
        self.on_result = on_result
        self.buttons = buttons  # an alert's keyboard, drawn at each send (AlertButtons)
        self._clock, self._sleep = clock, sleep  # a test runs a minute of pacing instantly
        self._lock = asyncio.Lock()  # the scheduled job and a cycle may both call in
        self._chat_ready: dict[int, float] = {}
        self._group_sent: dict[int, deque[float]] = {}  # answer times of recent group sends
        self._paused_until = 0.0
        # Alerts Telegram accepted whose "sent" the store could not record: id -> message id.
        self.unrecorded: dict[int, int] = {}

    def backoff(self, attempts: int) -> float:
        """Capped exponential backoff in seconds: 2, 4, 8 … up to ``retry_max_seconds``."""
        return min(self.settings.retry_max_seconds, 2.0 ** (attempts + 1))

    async def deliver_due(self, limit: int = 200) -> int:
        """Send every due alert (unless a round is already running); return how many.

        Each chat gets a lane that sends its alerts in order, paced; up to
        ``SEND_LANES`` lanes send at once. When a lane finishes, the outbox is read
        again for chats without one, so a slow chat (a group at its 20 a minute, a
        slow answer) never holds up the others, and the round ends when nothing
        is due.
        """
        if self._lock.locked() or self._paused() or not self.catch_up():
            return 0
        async with self._lock:
            slots = asyncio.Semaphore(SEND_LANES)
            lanes: dict[int, asyncio.Task[int]] = {}
            sent, failure = 0, None
            while True:
                if not self._paused() and failure is None and not self.unrecorded:
                    due = self._due_by_chat(limit, lanes)
                    if due:  # the first render's imports, off the loop
                        await i18n.warmed()
                    for chat, alerts in due.items():
                        lanes[chat] = asyncio.create_task(self._drain_chat(alerts, slots))
                if not lanes:
                    break
                done, _ = await asyncio.wait(lanes.values(), return_when=asyncio.FIRST_COMPLETED)
                for chat in [c for c, task in lanes.items() if task in done]:
                    task = lanes.pop(chat)
                    if task.exception() is not None:  # in-flight lanes still finish
                        failure = failure or task.exception()
                    else:
                        sent += task.result()
            if failure is not None:
                raise failure
        return sent

    def catch_up(self) -> bool:
        """Record the kept sends first; False (send nothing) while the store cannot write."""
        if self.store.fault is not None and not self.unrecorded and not self.store.writable():
            return False
        for alert_id, message_id in list(self.unrecorded.items()):
            try:
                self.store.outbox.mark_sent(alert_id, message_id)
            except Exception:  # still not writable: keep them, send nothing
                return False
            del self.unrecorded[alert_id]
            log.info("alert_sent_recorded_late", extra={"alert_id": alert_id})
        return True

    def _due_by_chat(self, limit: int, busy: Collection[int]) -> dict[int, list[PendingAlert]]:
        lanes: dict[int, list[PendingAlert]] = {}
        for alert in round_robin(self.store.outbox.due(limit, skip_chats=busy)):
            lanes.setdefault(alert.chat_id, []).append(alert)
        return lanes

    async def _drain_chat(self, alerts: list[PendingAlert], slots: asyncio.Semaphore) -> int:
        """One chat's due alerts, in order and paced; stops at a pause or a gone chat."""
        sent = 0
        for alert in alerts:
            await self._pace(alert.chat_id)
            async with slots:
                if self._paused() or self.unrecorded:  # seen by another lane: stop too
                    break
                try:
                    outcome = await self._send_one(alert)
                finally:
                    self._sent_to(alert.chat_id)
            sent += outcome == "sent"
            if outcome in ("dropped", "migrated", "stop"):
                break
        return sent

    def _paused(self) -> bool:
        return self._clock() < self._paused_until

    async def _pace(self, chat_id: int) -> None:
        ready = self._chat_ready.get(chat_id, 0.0)
        recent = self._group_sent.get(chat_id)
        if recent is not None and len(recent) == recent.maxlen:
            ready = max(ready, recent[0] + 60.0)  # the oldest of the last 20 leaves the minute
        wait = ready - self._clock()
        if wait > 0:
            await self._sleep(wait)  # pacing towards Telegram's per-chat limits

    def _sent_to(self, chat_id: int) -> None:
        # Counted from the answer, not the attempt: a send held up by the overall
        # limiter must not bring the chat's next one closer than the limits allow.
        # Groups and channels (negative ids) also get a rolling minute of at most
        # GROUP_PER_MINUTE, stricter than the client's group bucket, which so never waits
        # while holding a send lane.
        now = self._clock()
        self._chat_ready[chat_id] = now + self.settings.per_chat_interval_seconds
        if chat_id < 0:
            self._group_sent.setdefault(chat_id, deque(maxlen=GROUP_PER_MINUTE)).append(now)

    def message(self, alert: PendingAlert) -> tuple[str, Keyboard]:
        """What goes out for a row: its text with "also reported by", and its buttons."""
        also = [(o.name, o.url) for o in alert.also]
        keyboard = self.buttons(alert) if self.buttons is not None else ()
        return with_outlets(alert.text, also, alert.lang), keyboard

    def _report(self, result: str) -> None:
        if self.on_result is not None:
            self.on_result(result)

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _send_one(self, alert: PendingAlert) -> str:
        if alert.is_edit:
            return await self._edit_one(alert)
        outbox, subs = self.store.outbox, self.store.subs
        extra = {"chat_id": alert.chat_id, "alert_id": alert.id, "attempt": alert.attempts + 1}
        text, keyboard = self.message(alert)
        try:
            message_id = await self.sender.send(alert.chat_id, text, keyboard)
        except RetryLater as exc:
            outbox.retry_at(alert.id, utcnow() + timedelta(seconds=exc.seconds), str(exc))
            self._pause(exc.seconds)
            self._report("flood_wait")
            log.warning("telegram_flood_wait", extra={**extra, "retry_after": exc.seconds})
            return "stop"
        except ChatMoved as exc:
            subs.migrate(alert.chat_id, exc.new_chat_id)
            self._report("migrated")
            log.info("chat_migrated", extra={**extra, "new_chat_id": exc.new_chat_id})
            return "migrated"  # the row now belongs to the new id and is sent next round
        except ChatGone as exc:
            return self._give_up_on_chat(alert, str(exc), extra)
        except MessageRefused as exc:
            outbox.mark_failed(alert.id, str(exc))
            self._report("refused")
            log.error("alert_refused", extra={**extra, "error": str(exc)})
            return "failed"
        except SendUnavailable as exc:
            wait = self.backoff(alert.attempts)
            outbox.retry_at(alert.id, utcnow() + timedelta(seconds=wait), str(exc))
            self._pause(wait)
            self._report("timeout" if exc.timed_out else "network")
            log.warning(
                "telegram_unavailable", extra={**extra, "error": str(exc), "retry_in": wait}
            )
            return "stop"
        try:
            outbox.mark_sent(alert.id, message_id)
        except Exception as exc:  # the store failed after Telegram accepted: never resend
            self.unrecorded[alert.id] = message_id
            self._report("sent")
            log.error("alert_sent_unrecorded", extra={**extra, "error": str(exc)})
            return "stop"
        self._report("sent")
        log.info("alert_sent", extra=extra)
        return "sent"

    async def _edit_one(self, alert: PendingAlert) -> str:
        """Update a sent alert in place; an edit that cannot apply is dropped, not retried."""
        extra = {"chat_id": alert.chat_id, "alert_id": alert.id}
        text, keyboard = self.message(alert)
        try:
            await self.sender.edit(alert.chat_id, alert.message_id or 0, text, keyboard)
        except RetryLater as exc:
            self.store.outbox.retry_at(
                alert.id, utcnow() + timedelta(seconds=exc.seconds), str(exc)
            )
            self._pause(exc.seconds)
            return "stop"
        except MessageRefused as exc:  # "not modified", "message to edit not found", too old
            log.info("alert_edit_skipped", extra={**extra, "error": str(exc)})
        except SendUnavailable as exc:
            wait = self.backoff(alert.attempts)
            self.store.outbox.retry_at(alert.id, utcnow() + timedelta(seconds=wait), str(exc))
            self._pause(wait)
            return "stop"
        except ChatGone as exc:
            return self._give_up_on_chat(alert, str(exc), extra)
        self.store.outbox.mark_edited(alert.id)
        log.info("alert_edited", extra=extra)
        return "edited"

    def _give_up_on_chat(self, alert: PendingAlert, reason: str, extra: dict) -> str:
        """The bot was blocked, kicked, or the chat is gone: stop alerting it."""
        self.store.subs.deactivate(alert.chat_id, reason)
        self.store.outbox.drop_chat(alert.chat_id, reason)
        self._report("chat_gone")
        log.warning("chat_deactivated", extra={**extra, "error": reason})
        return "dropped"
