"""Feeds whose server never answers hold neither the fetch slots nor their host's share.

More hanging feeds than ``fetch.max_concurrency`` (10), all on the healthy feed's
host (whose ``per_host_concurrency`` is 2): each hanging request gives its slots
back once it has stalled, so every hanging feed is in flight at once and the
healthy feed keeps its interval (before, two hanging feeds blocked their host and
ten blocked every host until their deadline).
"""

from __future__ import annotations

import time

import pytest

from bot.ingest import fetch
from bot.pipeline import scheduler
from tests.helpers.harness import Harness, rss


@pytest.mark.slow  # real time: a few seconds of polls at the harness's short interval
async def test_many_hanging_feeds_on_one_host_do_not_block_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (fetch, scheduler):
        monkeypatch.setattr(module, "STALL_SECONDS", 0.3)
    site = harness.site
    hanging = [f"/hang{i}.xml" for i in range(12)]
    for path in hanging:
        site.hang(path)
    site.route("/ok.xml", rss([]))
    harness.write([*hanging, "/ok.xml"], fetch={"deadline_seconds": 20})
    async with harness.running():
        begun = time.monotonic()
        await site.wait_for_async(lambda s: all(s.hits(p) == 1 for p in hanging), 15)
        healthy = site.hits("/ok.xml")
        await site.wait_for_async(lambda s: s.hits("/ok.xml") >= healthy + 3, 15)
        waited = time.monotonic() - begun
        still = [site.hits(p) for p in hanging]
    assert waited < 15, f"all hanging in flight and 3 healthy polls took {waited:.1f} s"
    assert still == [1] * len(hanging), "each hanging feed is polled once, until its deadline"
