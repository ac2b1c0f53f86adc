"""Per-feed schedule: adaptive intervals, server hints, backoff, jitter, broken feeds."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from bot.config.settings import PollingSettings
from bot.pipeline.schedule import Poll, ceiling, next_delay, next_interval

S = PollingSettings(jitter=0)


def test_adaptive_interval_speeds_up_on_news_and_slows_down_when_quiet() -> None:
    assert next_interval(300, None, Poll(True, new_items=2), S) == 150
    assert next_interval(300, 150, Poll(True, new_items=1), S) == 75, "floored at base/4"
    assert next_interval(300, 75, Poll(True, new_items=1), S) == 75
    quiet = 300.0
    for _ in range(20):
        quiet = next_interval(300, quiet, Poll(True), S)
    assert quiet == 600, "capped at the latency ceiling: twice the base by default"
    roomy = PollingSettings(jitter=0, latency_ceiling_seconds=5000)
    for _ in range(20):
        quiet = next_interval(300, quiet, Poll(True), roomy)
    assert quiet == 1200, "a higher ceiling: capped at 4x the base"
    assert next_interval(300, 600, Poll(False, failures=1), S) == 600
    assert next_interval(300, 600, Poll(True), PollingSettings(adaptive=False)) == 300


def test_server_hints_are_a_floor_and_capped() -> None:
    assert next_delay(300, Poll(True, cache_seconds=900), S) == 900
    assert next_delay(300, Poll(True, ttl_minutes=60), S) == 3600
    assert next_delay(300, Poll(True, cache_seconds=10), S) == 300
    assert next_delay(300, Poll(True, cache_seconds=10**9), S) == S.max_interval_seconds


def test_errors_back_off_exponentially_with_a_cap_and_honour_retry_after() -> None:
    delays = [next_delay(300, Poll(False, failures=n), S) for n in range(1, 12)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == S.error_backoff_max_seconds
    assert next_delay(300, Poll(False, failures=1, retry_after=5000), S) == 5000


def test_jitter_spreads_feeds() -> None:
    rng = random.Random(7)
    s = PollingSettings(jitter=0.1)
    delays = {round(next_delay(300, Poll(True), s, rng)) for _ in range(50)}
    assert len(delays) > 10 and min(delays) >= 270 and max(delays) <= 330


def test_the_latency_ceiling_caps_hints_and_jitter_and_is_validated() -> None:
    s = PollingSettings(jitter=0.5)
    cap = ceiling(300, s)
    assert cap == 600
    rng = random.Random(3)
    hinted = [next_delay(300, Poll(True, cache_seconds=3600), s, rng, cap=cap) for _ in range(200)]
    assert max(hinted) <= 600 and min(hinted) >= 300, "a 1 h max-age waits at most the ceiling"
    assert ceiling(300, PollingSettings(latency_ceiling_seconds=120)) == 300, "never below base"
    with pytest.raises(ValidationError, match="latency_ceiling_seconds"):
        PollingSettings(latency_ceiling_seconds=30)  # below min_interval_seconds (60)
    with pytest.raises(ValidationError):
        PollingSettings(latency_ceiling_seconds=0)
