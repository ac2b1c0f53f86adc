"""A request whose server does not answer gives its slots back after ``STALL_SECONDS``.

Ten feeds hanging until their 30 s deadline used to take every global slot (and
two every slot of their host), so no other feed could be fetched meanwhile. A
request whose server has answered keeps its slots until it ends.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.ingest import fetch
from bot.ingest.fetch import Fetcher
from tests.fakes.web import LoopbackSite

NARROW = FetchSettings(
    allow_loopback=True,
    deadline_seconds=3.0,
    max_concurrency=1,
    per_host_concurrency=1,
    per_host_interval_seconds=0,
)


@pytest.fixture
async def narrow(monkeypatch: pytest.MonkeyPatch) -> Fetcher:
    monkeypatch.setattr(fetch, "STALL_SECONDS", 0.2)
    f = Fetcher(NARROW)
    yield f
    await f.aclose()


async def test_a_stalled_request_does_not_hold_the_only_slot(
    site: LoopbackSite, narrow: Fetcher
) -> None:
    site.hang("/hang")
    site.route("/ok", "<rss/>")
    hanging = asyncio.create_task(narrow.fetch_feed(site.url("/hang")))
    await asyncio.sleep(0)  # let it take the one global and host slot first
    start = time.monotonic()
    assert (await narrow.fetch_feed(site.url("/ok"))).status == 200
    assert time.monotonic() - start < NARROW.deadline_seconds - 1, "not held until the deadline"
    assert site.hits("/hang") == 1, "the stalled one was in flight meanwhile"
    with pytest.raises(FetchError) as err:
        await hanging
    assert err.value.kind == "deadline", "it still runs to its own deadline"


async def test_an_answered_slow_request_keeps_its_slot(site: LoopbackSite, narrow: Fetcher) -> None:
    site.drip("/drip", interval=0.05)  # answers at once, then drips past the deadline
    site.route("/ok", "<rss/>")
    dripping = asyncio.create_task(narrow.fetch_feed(site.url("/drip")))
    await asyncio.sleep(0)
    start = time.monotonic()
    assert (await narrow.fetch_feed(site.url("/ok"))).status == 200
    assert time.monotonic() - start >= NARROW.deadline_seconds - 0.5, "waited for the drip's end"
    with pytest.raises(FetchError):
        await dripping


async def test_failing_feeds_take_at_most_half_the_slots(
    site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hanging feeds retrying together took every global slot for their first seconds;
    a failing feed's request now shares half of them with the other failing ones."""
    monkeypatch.setattr(fetch, "STALL_SECONDS", 60.0)  # held until the deadline: no stall
    two = FetchSettings(
        allow_loopback=True,
        deadline_seconds=3.0,
        max_concurrency=2,
        per_host_concurrency=2,
        per_host_interval_seconds=0,
    )
    site.hang("/hang1")
    site.hang("/hang2")
    site.route("/ok", "<rss/>")
    f = Fetcher(two)
    try:
        hanging = [
            asyncio.create_task(f.fetch_feed(site.url(p), failing=True))
            for p in ("/hang1", "/hang2")
        ]
        await asyncio.sleep(0)
        start = time.monotonic()
        assert (await f.fetch_feed(site.url("/ok"))).status == 200
        assert time.monotonic() - start < two.deadline_seconds - 1, "a slot was left for it"
        assert site.hits("/hang1") + site.hits("/hang2") == 1, "the second failing one waits"
        for task in hanging:
            with pytest.raises(FetchError):
                await task
    finally:
        await f.aclose()
