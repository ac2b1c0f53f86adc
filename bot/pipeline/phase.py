"""Each feed's stable place within its interval, spread per host.

On-time polls keep their phase (bot/pipeline/schedule.py), so feeds whose first
polls ran together stayed together: every interval a host's feeds fell due in
the same second and queued at its politeness gate (1 s apart), the last ones
several seconds late. Like a scrape scheduler's per-target offset, each feed
gets a phase, a fraction of its interval: the feeds of one host are evenly
spaced (by feed id, so ``interval / feeds on the host`` apart, which is at least
the host's spacing whenever the host can be polled once an interval at all), and
each host is shifted by a hash of its name so hosts do not all start at :00.
The phase is a pure function of the enabled feeds' ids and URLs, and slots are
counted from the Unix epoch, so replicas sharing a store agree on it without talking.

``align`` moves a next-poll time toward the feed's slot by at most a window (the
jitter share of the delay: never further from its interval than jitter used to
move it); a feed's first poll, which has no phase yet, goes to a slot at once.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.core.hosts import host_of
from bot.core.models import FeedSource

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REFRESH_SECONDS = 60.0  # re-read the feed list this often (config edits, redirects)
RETRY_SECONDS = 1.0  # an unknown feed re-reads it, at most this often


def host_phases(feeds: Iterable[tuple[int, str]]) -> dict[int, float]:
    """Feed id -> phase in [0, 1): a host's feeds evenly spaced, each host hash-shifted.

    ``crc32``, not ``hash()``: Python salts string hashes per process, and every
    replica must compute the same phases.
    """
    hosts: dict[str, list[int]] = defaultdict(list)
    for fid, url in feeds:
        hosts[host_of(url)].append(fid)
    phases: dict[int, float] = {}
    for host, ids in hosts.items():
        shift = zlib.crc32(host.encode()) / 2**32
        for rank, fid in enumerate(sorted(ids)):
            phases[fid] = (shift + rank / len(ids)) % 1.0
    return phases


def slot_near(t: datetime, period: float, phase: float) -> datetime:
    """The slot (epoch + (k + phase) x period) nearest to ``t``."""
    k = round((t - EPOCH).total_seconds() / period - phase)
    return EPOCH + timedelta(seconds=(k + phase) * period)


def slot_after(t: datetime, period: float, phase: float) -> datetime:
    """The first slot at or after ``t``."""
    k = math.ceil((t - EPOCH).total_seconds() / period - phase - 1e-9)
    return EPOCH + timedelta(seconds=(k + phase) * period)


def align(t: datetime, period: float, phase: float, window: float) -> datetime:
    """``t`` moved toward its nearest slot, by at most ``window`` seconds."""
    if period <= 0:
        return t
    gap = (slot_near(t, period, phase) - t).total_seconds()
    return t + timedelta(seconds=max(-window, min(window, gap)))


class Phases:
    """The phases of the store's enabled feeds, re-read now and then (a few ms for 500 feeds)."""

    def __init__(
        self,
        listing: Callable[[], Iterable[FeedSource]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.listing, self.clock = listing, clock
        self._phases: dict[int, float] = {}
        self._read_at = float("-inf")

    def of(self, feed: FeedSource) -> float | None:
        """The feed's phase (None: unknown, e.g. the store cannot be read: no alignment)."""
        now = self.clock()
        age = now - self._read_at
        if age >= REFRESH_SECONDS or (feed.id not in self._phases and age >= RETRY_SECONDS):
            self._read_at = now
            try:
                self._phases = host_phases((f.id, f.url) for f in self.listing())
            except Exception as exc:  # the store failing: keep what we had
                log.warning("phases_not_read", extra={"error": str(exc)[:300]})
        return self._phases.get(feed.id)
