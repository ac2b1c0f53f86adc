"""Per-feed polling schedule: when to poll a feed next, from what it just did.

- Adaptive: a feed that just published polls sooner (interval halves), a quiet one
  later (x1.25), between ``min_interval`` and ``max_interval``.
- Server hints are honoured as a floor: ``Cache-Control: max-age``/``Expires``,
  the RSS ``<ttl>``, and ``Retry-After`` on 429/503.
- Errors back off exponentially from the base interval, capped.
- Jitter spreads feeds so they do not align.
- On-time polls keep their phase: the next poll is due one delay after this one
  fell due, not after it ended. Counting from the end adds each poll's duration
  and its wait at the host's gate to every interval: 60 feeds on one host at 1 s
  spacing drifted to 0.958 polls per 60 s interval. A poll that started late (more
  than ``ON_TIME_FRACTION`` of the delay past due) counts from now instead, so a
  backlog is never chased with back-to-back polls, and a feed is never polled much
  sooner than its interval after its last poll (at most that share, as jitter does).
  Jitter applies only when counting from now (an
  on-time feed is already spread, and re-jittering it would random-walk its phase).
- Phase (bot/pipeline/phase.py): given the feed's phase, an on-time poll's next
  due time is moved toward the feed's slot (by at most the jitter share, in place
  of random jitter); a first poll, a late one and a failure go from now straight
  to the first slot at least the delay less the jitter share away, so one host's
  feeds fall due spread across the interval instead of queueing at its gate together.
- A latency ceiling (``polling.latency_ceiling_seconds``, default twice the base
  interval) caps the wait between successful polls, hints and jitter included, so
  an article waits at most that long for its alert's poll.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.settings import PollingSettings
from bot.pipeline.phase import align, slot_after

ON_TIME_FRACTION = 0.1  # a poll that ended at most this share of its delay past due was on time
MIN_AHEAD_SECONDS = 1.0  # a next poll is never due sooner than this after the last one ends


@dataclass(frozen=True, slots=True)
class Poll:
    """What one poll of a feed showed."""

    ok: bool
    new_items: int = 0
    cache_seconds: float | None = None
    ttl_minutes: float | None = None
    retry_after: float | None = None
    failures: int = 0  # consecutive failures, this one included


def ceiling(base: float, s: PollingSettings) -> float:
    """The longest wait between successful polls of a feed whose base interval is ``base``."""
    return max(base, s.latency_ceiling_seconds or 2 * base)


def next_interval(base: float, current: float | None, poll: Poll, s: PollingSettings) -> float:
    """The feed's adaptive interval after this poll (stored, before hints and jitter)."""
    if not s.adaptive:
        return base
    current = current or base
    if not poll.ok:
        return current
    low = min(base, max(s.min_interval_seconds, base / 4))
    high = max(base, min(base * 4, s.max_interval_seconds, ceiling(base, s)))
    return min(max(current * (0.5 if poll.new_items else 1.25), low), high)


def next_delay(
    interval: float,
    poll: Poll,
    s: PollingSettings,
    rng: random.Random | None = None,
    *,
    cap: float | None = None,
    jitter: bool = True,
) -> float:
    """Seconds until the next poll: the interval, server hints, backoff, then jitter.

    ``cap``: the feed's latency ceiling, which a successful poll's delay never exceeds.
    """
    if not jitter:
        s = s.model_copy(update={"jitter": 0.0})
    if poll.ok:
        hints = [h for h in (poll.cache_seconds, (poll.ttl_minutes or 0) * 60) if h]
        delay = max([interval, *hints])
        delay = min(delay, max(interval, s.max_interval_seconds))
        if cap is not None:  # jittered, then capped: never later than the ceiling
            delay = min(delay, cap)
            spread = delay * s.jitter
            return min(cap, max(0.0, delay + (rng or random).uniform(-spread, spread)))
    else:
        delay = min(interval * 2 ** max(0, poll.failures - 1), s.error_backoff_max_seconds)
        delay = max(delay, min(interval, s.error_backoff_max_seconds))
        if poll.retry_after:
            delay = max(delay, min(poll.retry_after, s.max_interval_seconds))
    spread = delay * s.jitter
    return max(0.0, delay + (rng or random).uniform(-spread, spread))


def next_poll_at(
    due: datetime | None,
    now: datetime,
    interval: float,
    poll: Poll,
    s: PollingSettings,
    rng: random.Random | None = None,
    *,
    cap: float | None = None,
    started: datetime | None = None,
    phase: float | None = None,
) -> datetime:
    """When a feed that fell due at ``due`` and whose poll ended ``now`` is polled next.

    From ``due`` when the poll started on time (``started``; unknown: judged by
    ``now``), see the module's docstring; else from now. ``phase``: the feed's
    place in its interval (None: unknown, random jitter instead).
    """
    if phase is not None:
        return _phased(due, now, interval, poll, s, cap, started, phase)
    if poll.ok and due is not None:
        due = min(due, now)  # polled before it fell due (``once``): count from now
        delay = next_delay(interval, poll, s, cap=cap, jitter=False)
        if ((started or now) - due).total_seconds() <= delay * ON_TIME_FRACTION:
            return max(due + timedelta(seconds=delay), now + timedelta(seconds=MIN_AHEAD_SECONDS))
    delay = next_delay(interval, poll, s, rng, cap=cap)
    return now + timedelta(seconds=max(delay, MIN_AHEAD_SECONDS))


def _phased(
    due: datetime | None,
    now: datetime,
    interval: float,
    poll: Poll,
    s: PollingSettings,
    cap: float | None,
    started: datetime | None,
    phase: float,
) -> datetime:
    """``next_poll_at`` for a feed with a phase: on time, from due, aligned; else to a slot.

    Slots recur every delay, so a fixed-interval feed's recur one interval apart
    and an on-time feed, once on its slot, stays there (off it, it moves toward it
    by at most the jitter share a poll). A first poll, a late one and a failure go
    from now to the feed's first slot after the delay less the jitter share: in one
    step, as one longer gap (a first poll's next slot within the interval fell in
    the start-up backlog, and the late feeds then crept back 6 s a poll, a +-6 s
    gap each time), and feeds that ran together (hanging ones, each holding a fetch
    slot for its first 5 s) go on spread across one delay by phase, not together
    within its jitter: 100 hanging feeds retrying in the same seconds took every
    one of the fetcher's global slots, and every host's healthy polls waited.
    """
    delay = next_delay(interval, poll, s, cap=cap, jitter=False)
    window = delay * s.jitter
    due = None if due is None else min(due, now)  # polled before due (``once``): from now
    late = due is None or ((started or now) - due).total_seconds() > delay * ON_TIME_FRACTION
    if not poll.ok or late:
        at = slot_after(now + timedelta(seconds=delay - window), delay, phase)
        if not poll.ok:
            return max(at, now + timedelta(seconds=MIN_AHEAD_SECONDS))
    else:
        at = align(due + timedelta(seconds=delay), delay, phase, window)
    if cap is not None:
        at = min(at, now + timedelta(seconds=cap))
    return max(at, now + timedelta(seconds=MIN_AHEAD_SECONDS))
