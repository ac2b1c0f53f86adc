"""When delivery looks at the outbox: when alerts are queued, when a retry falls due.

Reading the outbox every second cost a bot at rest most of its CPU (issue 18:
7 CPU s an hour for 60 unchanged feeds, against 2.3 for rss2email). The pipeline
says when it queued alerts (``queued``); retries and 429 pauses are waited for
until the outbox's earliest due time; a slow tick (``idle_seconds``) remains for
what nothing announces: rows another replica queued on a shared database (where
the caller keeps the 1 s check) and a store that failed a read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.core.clock import utcnow
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)
IDLE_SECONDS = 30.0  # single process: the outbox is read at least this often


class DeliveryWake:
    """Runs delivery rounds when there is something to send, and otherwise sleeps."""

    def __init__(self, outbox: Outbox, busy_seconds: float, idle_seconds: float) -> None:
        self.outbox = outbox
        self.busy_seconds = busy_seconds  # the shortest wait between rounds (1 s by default)
        self.idle_seconds = max(idle_seconds, busy_seconds)
        self._event = asyncio.Event()
        self.rounds = 0

    def queued(self) -> None:
        """Alerts were queued: start a round now (or right after the running one)."""
        self._event.set()

    def wait_seconds(self) -> float:
        """Until the earliest due send or edit, between ``busy_seconds`` and the idle tick."""
        try:
            due = self.outbox.next_attempt_at()
        except Exception as exc:  # a store outage: look again soon, the watch reports it
            log.debug("outbox_not_read", extra={"error": str(exc)})
            return self.busy_seconds
        if due is None:
            return self.idle_seconds
        wait = (due - utcnow()).total_seconds()
        return min(self.idle_seconds, max(self.busy_seconds, wait))

    async def run(self, deliver: Callable[[], Awaitable[object]], stop: asyncio.Event) -> None:
        """A round, then sleep until queued, due or the tick; until ``stop`` is set."""
        while not stop.is_set():
            self.rounds += 1
            await deliver()
            wait = self.wait_seconds()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._event.wait()
            self._event.clear()
