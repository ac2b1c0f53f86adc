"""Every feed on its own clock: due feeds go to a bounded pool of pollers, no cycle.

A poller is one asyncio task polling one feed. When a poll ends its poller is free
at once for the next due feed, so a feed hanging until its deadline holds one
poller and delays no other feed beyond the pool's capacity. Feeds are handed
out earliest due first, at most ``per_host_concurrency`` per host (the fetcher
spaces a host's requests anyway; more would only sit in its gate), so one crowded
host never takes every poller. A poll still running after the fetcher's
``STALL_SECONDS`` stops counting toward its host's share, as its request stops
counting toward the host's slots: two hanging feeds no longer keep the host's
other feeds waiting for their deadline. When the pool is full while feeds wait, the log
says so (``pollers_exhausted``) and so does a metric.

``run`` serves two callers through the same loop: ``newsbot run`` (``forever``:
sleep until the next feed falls due) and a pass (``once``, tests, benchmarks: every
feed ``take`` yields is polled exactly once, then it returns).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.clock import utcnow
from bot.core.hosts import host_of
from bot.core.models import FeedSource
from bot.ingest.fetch import STALL_SECONDS
from bot.pipeline.report import CycleReport

log = logging.getLogger(__name__)
# (up to n feeds, how many more were due and startable): fair across hosts, given busy.
Take = Callable[[int, Mapping[str, int]], tuple[list[FeedSource], int]]
FLUSH_SECONDS = 1.0  # how long a polled feed may stay leased before its 304 is saved
TICK_MAX_SECONDS = 30.0  # look for due feeds at least this often (config edits, replicas)
MIN_WAIT_SECONDS = 1.0  # due feeds that could not start (host busy, other replica): recheck
SATURATION_LOG_SECONDS = 60.0  # at most one pollers_exhausted line this often
# When the running poll started (set in its task's context): whether it began on
# time decides where its next poll counts from (bot/pipeline/schedule.py).
POLL_STARTED: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "poll_started", default=None
)


@dataclass
class SchedulerHooks:
    """What the service wants to hear from a running scheduler (all optional)."""

    started: Callable[[FeedSource, float], None] = lambda feed, late: None  # late: seconds
    saturated: Callable[[int], None] = lambda waiting: None  # pool full, ``waiting`` due
    busy: Callable[[int], None] = lambda n: None  # pollers in use now


@dataclass
class _Pool:
    size: int
    running: dict[asyncio.Task[None], str] = field(default_factory=dict)
    hosts: Counter[str] = field(default_factory=Counter)
    counted: set[asyncio.Task[None]] = field(default_factory=set)  # in ``hosts``
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def free(self) -> int:
        return self.size - len(self.running)

    def add(self, task: asyncio.Task[None], host: str) -> None:
        self.running[task] = host
        self.hosts[host] += 1
        self.counted.add(task)
        task.add_done_callback(self.ended)
        asyncio.get_running_loop().call_later(STALL_SECONDS, self.uncount, task)

    def uncount(self, task: asyncio.Task[None]) -> None:
        """A long poll stops holding its host's share (the fetcher's gate still spaces it)."""
        if task in self.counted:
            self.counted.discard(task)
            host = self.running[task]
            self.hosts[host] -= 1
            if self.hosts[host] <= 0:
                del self.hosts[host]
            self.wake.set()

    def ended(self, task: asyncio.Task[None]) -> None:
        self.uncount(task)
        self.running.pop(task, None)
        self.wake.set()


class PollScheduler:
    """Hands due feeds to at most ``pollers`` concurrent polls."""

    def __init__(
        self,
        pollers: int,
        poll: Callable[[FeedSource, CycleReport], Awaitable[None]],
        hooks: SchedulerHooks | None = None,
    ) -> None:
        self.pollers, self.poll = pollers, poll
        self.hooks = hooks or SchedulerHooks()
        self._saturation_logged = float("-inf")

    async def run(
        self,
        take: Take,
        report: CycleReport,
        *,
        forever: bool = False,
        next_due: Callable[[], float | None] | None = None,
        stop: asyncio.Event | None = None,
        between: Callable[[CycleReport, bool], Awaitable[CycleReport]] | None = None,
        each: Callable[[CycleReport], None] | None = None,
    ) -> None:
        """Poll what ``take`` hands out until it is drained (or, ``forever``, until ``stop``).

        ``next_due``: seconds until a feed falls due (None: none known), for the sleep.
        ``between``: awaited at each wake with the report so far and whether no poll
        is running (flushes, heartbeat, rules reload); returns the report to go on
        with. ``each``: every poll counts into its own report, handed to ``each`` as
        it ends. Once ``stop`` is set no poll starts, and the run returns when the
        running ones end (cancel it to cut short).
        """
        pool = _Pool(self.pollers)
        try:
            while stop is None or not stop.is_set():
                started = self._fill(pool, take, report, each)
                if not forever and not pool.running and not started:
                    return
                await self._sleep(pool, forever, next_due, stop)
                if between is not None:
                    report = await between(report, not pool.running)
            while pool.running:  # stopping: let the polls in flight finish
                await self._sleep(pool, False, None, None)
                if between is not None:
                    report = await between(report, not pool.running)
        finally:
            await self._abandon(pool)

    def _fill(
        self,
        pool: _Pool,
        take: Take,
        report: CycleReport,
        each: Callable[[CycleReport], None] | None,
    ) -> int:
        """Start polls on the free pollers; how many started."""
        free = pool.free()
        batch, waiting = take(max(free, 0), pool.hosts)
        now = utcnow()
        for feed in batch:
            late = (now - feed.next_poll_at).total_seconds() if feed.next_poll_at else 0.0
            self.hooks.started(feed, max(0.0, late))
            own = report if each is None else CycleReport()
            own.feeds += 1
            host = host_of(feed.url)
            context = contextvars.copy_context()
            context.run(POLL_STARTED.set, now)  # this poll's own, not the loop's
            task = asyncio.create_task(self.poll(feed, own), context=context)
            pool.add(task, host)
            if each is not None:
                task.add_done_callback(lambda _, own=own: each(own))
        self.hooks.busy(len(pool.running))
        if waiting and pool.free() <= 0:
            self._saturated(waiting)
        return len(batch)

    def _saturated(self, waiting: int) -> None:
        self.hooks.saturated(waiting)
        now = time.monotonic()
        if now - self._saturation_logged >= SATURATION_LOG_SECONDS:
            self._saturation_logged = now
            log.warning(
                "pollers_exhausted",
                extra={"pollers": self.pollers, "due_waiting": waiting},
            )

    async def _sleep(
        self,
        pool: _Pool,
        forever: bool,
        next_due: Callable[[], float | None] | None,
        stop: asyncio.Event | None,
    ) -> None:
        """Until a poll ends, the flush tick, the next due feed, or ``stop``."""
        timeout = FLUSH_SECONDS if pool.running else TICK_MAX_SECONDS
        if forever and next_due is not None and not (pool.running and pool.free() <= 0):
            due = next_due()
            if due is not None:
                floor = 0.0 if due > 0 else MIN_WAIT_SECONDS  # due yet not startable: recheck
                timeout = min(timeout, max(due, floor, 0.01))
        if not forever and not pool.running:
            return
        waits = [asyncio.ensure_future(pool.wake.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        pool.wake.clear()

    @staticmethod
    async def _abandon(pool: _Pool) -> None:
        """Cancel the polls still running (only when the run itself ends early)."""
        tasks = list(pool.running)
        for task in tasks:
            task.cancel()
        if tasks:  # let them unwind (and say so) before the run ends
            await asyncio.wait(tasks)
