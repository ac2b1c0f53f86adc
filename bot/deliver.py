"""Delivery: send due outbox rows through Telegram (or the console), record the outcome.

Telegram error classes are handled most specific first, because ``BadRequest``
and ``TimedOut`` subclass ``NetworkError``:

- ``RetryAfter``: flood control; the row waits as long as Telegram asks and the
  round stops (sending more now would only extend the ban).
- ``Forbidden``: the bot was blocked or removed; the chat is deactivated and its
  pending alerts dropped, with the reason logged.
- ``BadRequest``: the message itself was refused; it is marked failed, kept for admins.
- ``TimedOut`` / ``NetworkError`` (incl. 5xx): retried with capped exponential
  backoff for as long as it takes. A timeout may hide a message that did arrive:
  that is the one duplicate window Telegram's API leaves open.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.recorder import plain
from bot.settings import AlertSettings
from bot.store import Store
from bot.store.base import utcnow
from bot.store.outbox import PendingAlert

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Sends one HTML message; returns Telegram's message id."""

    async def send(self, chat_id: int, text: str) -> int:
        """Send ``text`` to ``chat_id``."""
        ...


class TelegramSender:
    """Sends alerts as HTML with link previews off."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str) -> int:
        """Send through the Bot API; raises PTB's errors."""
        message = await self.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return message.message_id


class ConsoleSender:
    """Prints alerts to standard output (``newsbot run --console``)."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, chat_id: int, text: str) -> int:
        """Print the alert as plain text."""
        self.count += 1
        print(f"=== alert {self.count} ===\n{plain(text)}\n", flush=True)
        return self.count


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Deliverer:
    """Drains the outbox; safe to run repeatedly and after any crash."""

    def __init__(self, store: Store, sender: Sender, settings: AlertSettings) -> None:
        self.store, self.sender, self.settings = store, sender, settings
        self._lock = asyncio.Lock()  # the scheduled job and a cycle may both call in

    def backoff(self, attempts: int) -> timedelta:
        """Capped exponential backoff: 2 s, 4 s, 8 s … up to ``retry_max_seconds``."""
        return timedelta(seconds=min(self.settings.retry_max_seconds, 2.0 ** (attempts + 1)))

    async def deliver_due(self, limit: int = 200) -> int:
        """Send every due alert; return how many were sent."""
        sent = 0
        async with self._lock:
            for alert in self.store.outbox.due(limit):
                outcome = await self._send_one(alert)
                if outcome == "sent":
                    sent += 1
                elif outcome == "stop":
                    break
        return sent

    async def _send_one(self, alert: PendingAlert) -> str:
        outbox = self.store.outbox
        extra = {"chat_id": alert.chat_id, "alert_id": alert.id, "attempt": alert.attempts + 1}
        try:
            message_id = await self.sender.send(alert.chat_id, alert.text)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            outbox.retry_at(alert.id, utcnow() + timedelta(seconds=wait), str(exc))
            log.warning("telegram_flood_wait", extra={**extra, "retry_after": wait})
            return "stop"
        except Forbidden as exc:
            self.store.subs.deactivate(alert.chat_id, str(exc))
            outbox.drop_chat(alert.chat_id, str(exc))
            log.warning("chat_deactivated", extra={**extra, "error": str(exc)})
            return "dropped"
        except BadRequest as exc:
            outbox.mark_failed(alert.id, str(exc))
            log.error("alert_refused", extra={**extra, "error": str(exc)})
            return "failed"
        except (TimedOut, NetworkError) as exc:
            outbox.retry_at(alert.id, utcnow() + self.backoff(alert.attempts), str(exc))
            log.warning("telegram_unavailable", extra={**extra, "error": str(exc)})
            return "stop"
        outbox.mark_sent(alert.id, message_id)
        log.info("alert_sent", extra=extra)
        return "sent"
