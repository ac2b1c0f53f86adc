"""Feeds of one host are spread across their interval (bot/pipeline/phase.py).

Keeping phase kept the bunching of the first polls: every interval a host's
feeds fell due together and queued at its 1 s gate, the last ones seconds late.
These check the phases, the alignment rule, and, in a simulated host (gate,
two slots, hanging feeds), that healthy feeds then start on time.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bot.config.settings import PollingSettings
from bot.core.models import FeedSource
from bot.pipeline.phase import EPOCH, Phases, host_phases, slot_after
from bot.pipeline.schedule import Poll, next_poll_at

T = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHIPPED = PollingSettings()  # jitter 0.1
OK = Poll(ok=True)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def offset(t: datetime, period: float) -> float:
    """Where ``t`` falls within its period, as a fraction (slots are counted from the epoch)."""
    return ((t - EPOCH).total_seconds() / period) % 1.0


def circular(a: float, b: float) -> float:
    d = abs(a - b) % 1.0
    return min(d, 1.0 - d)


def test_a_hosts_feeds_are_evenly_spaced_whatever_the_listing_order() -> None:
    feeds = [(i, f"http://a.example/f{i}") for i in range(10)]
    feeds += [(100 + i, f"http://b.example/f{i}") for i in range(3)]
    phases = host_phases(feeds)
    assert phases == host_phases(reversed(feeds)), "by feed id, not by listing order"
    a = sorted(phases[i] for i in range(10))
    gaps = [round((b - c) % 1.0, 9) for b, c in zip(a[1:] + a[:1], a, strict=True)]
    assert gaps == [0.1] * 10, "10 feeds: 6 s apart in a 60 s interval"
    assert all(0 <= p < 1 for p in phases.values())
    assert circular(phases[0], phases[100]) > 1e-3, "each host shifted by its own hash"


def test_replicas_agree_on_phases_whatever_their_hash_seed() -> None:
    """Two processes (two replicas) with different string-hash salts compute the same phases."""
    code = (
        "from bot.pipeline.phase import host_phases;"
        "print(repr(host_phases([(1, 'http://a.example/x'), (2, 'http://a.example/y')])))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(seen) == 1, seen


def test_a_first_poll_goes_straight_to_a_slot_no_sooner_than_jitter_allows() -> None:
    """Not the next slot at once: that fell in the start-up backlog (every feed's first
    poll at once), so those second polls started late and the feeds lost their slot."""
    for phase in (0.0, 0.25, 0.9):
        got = next_poll_at(None, at(3), 60, OK, SHIPPED, phase=phase)
        assert abs(circular(offset(got, 60), phase)) < 1e-6, phase
        assert at(3 + 54) <= got < at(3 + 54 + 60)


def test_an_on_time_feed_on_its_slot_stays_there() -> None:
    due = slot_after(T, 60, 0.3)
    for took in (0.0, 0.4, 5.0):
        assert next_poll_at(due, due + timedelta(seconds=took), 60, OK, SHIPPED, phase=0.3) == (
            due + timedelta(seconds=60)
        )


def test_an_off_slot_feed_moves_toward_its_slot_by_at_most_the_jitter_share() -> None:
    due, phase = slot_after(T, 60, 0.0) + timedelta(seconds=30), 0.0  # as far as can be
    steps = []
    for _ in range(8):
        nxt = next_poll_at(due, due + timedelta(seconds=0.2), 60, OK, SHIPPED, phase=phase)
        steps.append((nxt - due).total_seconds())
        due = nxt
    assert all(54 - 1e-6 <= s <= 66 + 1e-6 for s in steps), steps
    assert circular(offset(due, 60), phase) < 1e-6, "on its slot after a few polls"
    assert steps[-1] == 60


def test_late_polls_count_from_now_and_the_ceiling_still_caps() -> None:
    due = slot_after(T, 60, 0.5)
    now = due + timedelta(seconds=20)
    got = next_poll_at(due, now, 60, OK, SHIPPED, started=due + timedelta(seconds=15), phase=0.5)
    assert now + timedelta(seconds=54) <= got < now + timedelta(seconds=54 + 60), "from now"
    assert circular(offset(got, 60), 0.5) < 1e-6, "back on its slot in one step"
    huge = Poll(ok=True, cache_seconds=10**9)
    for phase in (0.0, 0.3, 0.7):
        assert next_poll_at(None, at(1), 60, huge, SHIPPED, cap=120, phase=phase) <= at(121)
        assert next_poll_at(None, at(1), 60, OK, SHIPPED, cap=60, phase=phase) <= at(61)
    failed = next_poll_at(due, now, 60, Poll(ok=False, failures=2), PollingSettings(jitter=0))
    assert failed == now + timedelta(seconds=120), "failures back off as before"


def test_phases_are_reread_for_an_unknown_feed_and_kept_when_the_store_fails() -> None:
    clock, reads = [0.0], [0]
    listed = [FeedSource(1, "http://a/1", "http://a/1", "one")]

    def listing() -> list[FeedSource]:
        reads[0] += 1
        if reads[0] == 3:
            raise OSError("store down")
        return list(listed)

    phases = Phases(listing, clock=lambda: clock[0])
    first = phases.of(listed[0])
    assert first is not None and reads == [1]
    assert phases.of(listed[0]) == first and reads == [1], "cached"
    listed.append(FeedSource(2, "http://a/2", "http://a/2", "two"))
    assert phases.of(listed[1]) is None and reads == [1], "re-read at most once a second"
    clock[0] = 1.5
    assert phases.of(listed[1]) is not None and reads == [2]
    clock[0] = 100.0
    assert phases.of(listed[0]) is not None and reads == [3], "a failed read keeps the old"


def simulate(feeds: int, hanging: set[int], *, phased: bool, rounds: int = 12) -> dict:
    """One host: 1 s between request starts, 2 slots, first polls all at T.

    A poll is handed out at max(due, a slot free) (the scheduler's per-host share),
    starts at the gate, and a healthy one ends 0.2 s later; a hanging one holds its
    slot 5 s (the fetcher's stall) and fails at its 30 s deadline. Returns the
    healthy feeds' lateness (request start - due), gaps - interval and polls per
    interval (the bench's way: interval x (polls - 1) / (last - first)) after warm-up.
    """
    rng, interval = random.Random(11), 60.0
    phases = host_phases((i, f"http://h.example/f{i}") for i in range(feeds))
    due: list[datetime | None] = [None] * feeds
    nxt, failures = [T] * feeds, [0] * feeds
    gate, slots = T, [T, T]
    last: dict[int, datetime] = {}
    late, gaps = [], []
    starts: dict[int, list[datetime]] = {}
    warm, horizon = at(interval * 2), at(interval * rounds)
    while True:
        i = min(range(feeds), key=lambda k: (nxt[k], k))
        slot = min(range(2), key=lambda s: slots[s])
        claim = max(nxt[i], slots[slot]) + timedelta(seconds=rng.uniform(0, 0.05))
        start = max(claim, gate)
        if start >= horizon:
            break
        gate = start + timedelta(seconds=1)
        if i in hanging:
            slots[slot] = start + timedelta(seconds=5)
            failures[i] += 1
            poll, end = Poll(ok=False, failures=failures[i]), start + timedelta(seconds=30)
        else:
            slots[slot] = start + timedelta(seconds=0.2)
            poll, end = OK, start + timedelta(seconds=0.2)
            if start >= warm:
                starts.setdefault(i, []).append(start)
                if due[i] is not None:
                    late.append((start - due[i]).total_seconds())
                if i in last:
                    gaps.append((start - last[i]).total_seconds() - interval)
                last[i] = start
        phase = phases[i] if phased else None
        nxt[i] = next_poll_at(due[i], end, interval, poll, SHIPPED, rng, started=claim, phase=phase)
        due[i] = nxt[i]
    rates = [interval * (len(t) - 1) / (t[-1] - t[0]).total_seconds() for t in starts.values()]
    return {"late": sorted(late), "gaps": sorted(gaps), "rates": sorted(rates)}


def p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def test_a_host_of_ten_feeds_two_hanging_starts_each_healthy_poll_on_time() -> None:
    """Scenario A's host, simulated: bunched due times queue; phased ones do not."""
    old = simulate(10, {3, 7}, phased=False)
    new = simulate(10, {3, 7}, phased=True)
    assert old["late"][-1] > 1.5, "the bunching reproduced: the last feeds wait at the gate"
    assert new["late"][-1] <= 0.1, new["late"][-5:]  # the 0-50 ms of handing out only
    assert p99(new["gaps"]) <= 2.0 and new["gaps"][0] >= -2.0, (new["gaps"][:3], new["gaps"][-3:])


def test_sixty_feeds_on_one_host_are_still_polled_once_per_interval() -> None:
    """Scenario B, simulated: the host's gate just allows it; phases spread them 1 s apart."""
    new = simulate(60, set(), phased=True, rounds=20)
    assert len(new["rates"]) == 60
    assert new["rates"][0] >= 0.98 and new["rates"][-1] <= 1.02, new["rates"]
    assert p99(new["late"]) <= 1.0


def test_feeds_that_failed_together_retry_spread_across_the_backoff() -> None:
    """100 hanging feeds failing at one moment used to retry within their +-10 % jitter
    (each holds a fetch slot for 5 s): by phase they spread over one backoff."""
    phases = host_phases((i, f"http://h{i % 50}.example/f{i}") for i in range(100))
    now = at(31)
    for failures in (1, 2, 3):
        backoff = 60 * 2 ** (failures - 1)
        hung = Poll(ok=False, failures=failures)
        retries = sorted(
            (next_poll_at(at(0), now, 60, hung, SHIPPED, phase=p) - now).total_seconds()
            for p in phases.values()
        )
        assert retries[0] >= backoff * 0.9 - 1e-6 and retries[-1] < backoff * 1.9
        per_tenth = [
            sum(backoff * (0.9 + j / 10) <= r < backoff * (1 + j / 10) for r in retries)
            for j in range(10)
        ]
        assert max(per_tenth) <= 20, per_tenth  # about 10 each, none crowded
    same_host = [
        next_poll_at(at(0), now, 60, Poll(ok=False, failures=1), SHIPPED, phase=p)
        for p in (phases[3], phases[53])
    ]
    assert abs((same_host[0] - same_host[1]).total_seconds()) >= 6, "a host's two, apart"
