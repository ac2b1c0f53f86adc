"""On-time polls keep their phase: the next poll counts from the due time, not the end.

Counting from the end of each poll made feeds sharing one host drift (60 feeds on
one host at 1 s spacing got 0.958 polls per 60 s interval). These check the rule
(``next_poll_at``) and, in a simulated host gate, the polls-per-interval it gives.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.config.settings import PollingSettings
from bot.core.clock import utcnow
from bot.core.models import FeedSource
from bot.pipeline.report import CycleReport
from bot.pipeline.schedule import (
    MIN_AHEAD_SECONDS,
    ON_TIME_FRACTION,
    Poll,
    next_delay,
    next_poll_at,
)
from bot.pipeline.scheduler import POLL_STARTED, PollScheduler

T = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHIPPED = PollingSettings()  # jitter 0.1
FIXED = PollingSettings(adaptive=False)
OK = Poll(ok=True)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_an_on_time_poll_is_due_one_interval_after_it_fell_due_without_jitter() -> None:
    rng = random.Random(1)
    for took in (0.0, 0.3, 2.5, 60 * ON_TIME_FRACTION):
        assert next_poll_at(T, at(took), 60, OK, SHIPPED, rng) == at(60), took


def test_a_late_poll_counts_from_now_with_jitter() -> None:
    rng = random.Random(2)
    now = at(60 * ON_TIME_FRACTION + 1)
    seen = {(next_poll_at(T, now, 60, OK, SHIPPED, rng) - now).total_seconds() for _ in range(50)}
    assert min(seen) >= 54 and max(seen) <= 66, "from now, +-10% jitter"
    assert max(seen) - min(seen) > 1, "jittered"
    nojitter = PollingSettings(jitter=0)
    assert next_poll_at(T, at(20), 60, OK, nojitter) == at(80)


def test_a_never_polled_feed_and_an_early_poll_count_from_now() -> None:
    nojitter = PollingSettings(jitter=0)
    assert next_poll_at(None, at(5), 60, OK, nojitter) == at(65)
    assert next_poll_at(at(300), at(5), 60, OK, nojitter) == at(65), "polled before due (once)"


def test_never_due_in_the_past_nor_at_once() -> None:
    nojitter = PollingSettings(jitter=0)
    # A tiny delay: the poll ended within the on-time share, yet due + delay is too soon.
    got = next_poll_at(T, at(0.05), 1, OK, nojitter)
    assert got == at(0.05 + MIN_AHEAD_SECONDS)
    assert next_poll_at(T, at(0.5), 0, OK, nojitter) == at(0.5 + MIN_AHEAD_SECONDS)
    late = next_poll_at(T, at(500), 60, Poll(ok=False, failures=1), nojitter)
    assert late == at(560)


def test_failures_back_off_from_now_and_honour_retry_after() -> None:
    nojitter = PollingSettings(jitter=0)
    third = next_poll_at(T, at(30), 60, Poll(ok=False, failures=3), nojitter)
    assert third == at(30 + 240), "backoff 60 * 2**2, from the end of the failed poll"
    hinted = next_poll_at(T, at(1), 60, Poll(ok=False, failures=1, retry_after=900), nojitter)
    assert hinted == at(901)


def test_server_hints_and_the_latency_ceiling_still_apply_from_the_due_time() -> None:
    hint = Poll(ok=True, cache_seconds=100)
    assert next_poll_at(T, at(1), 60, hint, SHIPPED) == at(100), "hint is a floor"
    assert next_poll_at(T, at(1), 60, hint, SHIPPED, cap=90) == at(90), "the ceiling caps it"
    huge = Poll(ok=True, cache_seconds=10**9)
    assert next_poll_at(T, at(1), 60, huge, SHIPPED, cap=120) == at(120)
    # Counting from now, jitter included, the ceiling still caps the wait.
    rng = random.Random(3)
    for _ in range(50):
        got = next_poll_at(T, at(50), 60, huge, SHIPPED, rng, cap=120)
        assert got <= at(50 + 120)


def simulate(feeds: int, interval: float, spacing: float, rounds: int, *, phase: bool) -> float:
    """Polls per feed per interval on one host whose gate starts a request every ``spacing``.

    Each poll ends 0.2 s after its request starts. ``phase``: schedule by ``next_poll_at``;
    else the old rule (end of poll + delay).
    """
    rng = random.Random(7)
    due: list[datetime | None] = [None] * feeds
    nxt = [T] * feeds
    gate, polls = T, [0] * feeds
    horizon = T + timedelta(seconds=interval * rounds)
    warm = T + timedelta(seconds=interval * 3)
    while True:
        i = min(range(feeds), key=lambda k: nxt[k])
        start = max(nxt[i], gate)
        if start >= horizon:
            break
        gate = start + timedelta(seconds=spacing)
        end = start + timedelta(seconds=0.2)
        if phase:
            nxt[i] = next_poll_at(due[i], end, interval, OK, SHIPPED, rng)
        else:
            nxt[i] = end + timedelta(seconds=next_delay(interval, OK, SHIPPED, rng))
        due[i] = nxt[i]
        if start >= warm:
            polls[i] += 1
    per = sorted(p / (rounds - 3) for p in polls)
    return per[len(per) // 2]


def test_feeds_sharing_one_host_are_each_polled_once_per_interval() -> None:
    """60 feeds, 1 s spacing, 60 s interval: the interval just allows it."""
    assert simulate(60, 60, 1.0, 40, phase=False) < 0.98, "the old rule drifts"
    assert 0.98 <= simulate(60, 60, 1.0, 40, phase=True) <= 1.02
    assert 0.98 <= simulate(30, 60, 1.0, 40, phase=True) <= 1.02


def test_on_time_is_judged_by_when_the_poll_started_not_when_it_ended() -> None:
    """A poll that began on time but took long (pages, extraction) keeps its phase."""
    long_poll = next_poll_at(T, at(20), 60, OK, SHIPPED, started=at(0.5))
    assert long_poll == at(60)
    late_start = next_poll_at(T, at(20), 60, OK, PollingSettings(jitter=0), started=at(10))
    assert late_start == at(80), "started 10 s late: from the end"


async def test_each_poll_knows_when_it_started_and_the_loop_does_not() -> None:
    pending = [FeedSource(i, f"http://h{i}/f", f"http://h{i}/f", f"F{i}") for i in range(3)]
    seen: list[datetime | None] = []

    async def poll(feed: FeedSource, report: CycleReport) -> None:
        seen.append(POLL_STARTED.get())

    def take(n: int, busy: object) -> tuple[list[FeedSource], int]:
        batch, pending[:] = pending[:n], pending[n:]
        return batch, 0

    before = utcnow()
    await PollScheduler(2, poll).run(take, CycleReport())
    assert len(seen) == 3 and all(s is not None and before <= s <= utcnow() for s in seen)
    assert POLL_STARTED.get() is None, "set in each poll's own context only"
