"""What one poll's outcome means for its feed: when it is polled next, and its health.

A success schedules the next poll (adaptive interval, server hints, jitter), from
the time it fell due when it ran on time, at the feed's place in its interval
(bot/pipeline/schedule.py, bot/pipeline/phase.py); a
failure backs off, and a feed failing for ``polling.broken_after_hours`` is marked
broken and the admins are told once (and again when it recovers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.models import FeedSource, FetchResult
from bot.pipeline.recorder import Recorder
from bot.pipeline.report import CycleReport
from bot.pipeline.schedule import Poll, ceiling, next_interval, next_poll_at
from bot.pipeline.scheduler import POLL_STARTED

log = logging.getLogger(__name__)


class PollOutcomes:
    """Records each poll's outcome through the recorder and tells admins of health changes."""

    def __init__(
        self,
        settings: Settings,
        recorder: Recorder,
        notify: Callable[[str], None] | None,
        phases: Callable[[FeedSource], float | None] | None = None,
    ) -> None:
        self.settings, self.recorder, self.notify = settings, recorder, notify
        self.phases = phases  # a feed's phase (bot/pipeline/phase.py); None: jitter only

    def base(self, feed: FeedSource) -> float:
        """The feed's configured interval: its own, else the global one."""
        return feed.interval_seconds or self.settings.poll_interval_seconds

    def failed(
        self, feed: FeedSource, report: CycleReport, kind: str, message: str, wait: float | None
    ) -> None:
        """The poll failed: back off, and say so once the feed counts as broken."""
        report.failed[feed.url] = message
        report.failed_kinds[feed.url] = kind
        poll = Poll(ok=False, retry_after=wait, failures=feed.consecutive_failures + 1)
        interval, polling = feed.current_interval or self.base(feed), self.settings.polling
        at = next_poll_at(
            feed.next_poll_at, utcnow(), interval, poll, polling, phase=self._phase(feed)
        )
        self.recorder.feed_failed(feed, kind, message, at)
        since = feed.failing_since or utcnow()
        broken_after = timedelta(hours=self.settings.polling.broken_after_hours)
        if not feed.broken and utcnow() - since >= broken_after:
            self.recorder.feed_broken(feed, True)
            self._notify(
                f"Feed broken: {feed.name} ({feed.url}) has failed since "
                f"{since:%Y-%m-%d %H:%M} UTC. Last error: {message[:500]}"
            )

    def succeeded(self, feed: FeedSource, result: FetchResult, poll: Poll) -> None:
        """The poll worked: schedule the next one, and say so if the feed was broken."""
        polling = self.settings.polling
        base = self.base(feed)
        interval = next_interval(base, feed.current_interval, poll, polling)
        cap = ceiling(base, polling)
        due, started = feed.next_poll_at, POLL_STARTED.get()
        at = next_poll_at(
            due,
            utcnow(),
            interval,
            poll,
            polling,
            cap=cap,
            started=started,
            phase=self._phase(feed),
        )
        self.recorder.feed_ok(feed, result, at, interval)
        if feed.broken:
            self._notify(f"Feed recovered: {feed.name} ({feed.url}) works again.")

    def _phase(self, feed: FeedSource) -> float | None:
        return self.phases(feed) if self.phases is not None else None

    def _notify(self, text: str) -> None:
        log.warning("feed_health_changed", extra={"note": text})
        if self.notify is not None:
            self.notify(text)
