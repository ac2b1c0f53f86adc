"""The poll scheduler's properties, on the real service against loopback feeds.

No feed is polled twice at once (two replicas on one store included), a hanging
feed does not delay a healthy one, and a pass (``once``) polls each due feed
exactly once even when feeds fall due again while it runs.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.service import Service
from bot.store import Store
from bot.store.schema import feeds
from tests.fakes.web import HTML, RequestInfo
from tests.helpers.harness import CORPUS, Harness, rss

CHAT = 4242


class Tally:
    """Feed requests as the site sees them: in flight now, the most at once, start times."""

    def __init__(self, delay: float) -> None:
        self.delay, self.lock = delay, threading.Lock()
        self.now: dict[str, int] = defaultdict(int)
        self.most: dict[str, int] = defaultdict(int)
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.pause = threading.Event()  # never set: only its timeout, a slow server

    def feed(self, request: RequestInfo) -> tuple[int, dict[str, str], str]:
        path = request.path
        with self.lock:
            self.now[path] += 1
            self.most[path] = max(self.most[path], self.now[path])
            self.starts[path].append(time.monotonic())
        self.pause.wait(self.delay)  # a slow answer: the feed falls due again meanwhile
        with self.lock:
            self.now[path] -= 1
        return 200, {"Content-Type": "application/rss+xml"}, rss([])


@pytest.mark.slow  # real time: polls at a 0.3 s interval for a few seconds
async def test_no_feed_is_polled_twice_at_once_nor_sooner_than_its_interval(
    harness: Harness,
) -> None:
    """Two replicas on one store, answers slower than the interval: leases keep them apart."""
    site, tally = harness.site, Tally(delay=0.4)
    paths = [f"/f{i}.xml" for i in range(4)]
    for path in paths:
        site.route_fn(path, tally.feed)
    # One request in flight per host and replica: the four feeds' slots are 75 ms
    # apart, so a replica busy with one feed leaves the next to the other replica.
    harness.write(paths, poll_interval_seconds=0.3, fetch={"per_host_concurrency": 1})
    settings = harness.settings()
    a_settings = settings.model_copy(
        update={"replica": settings.replica.model_copy(update={"id": "replica-a"})}
    )
    b_settings = settings.model_copy(
        update={"replica": settings.replica.model_copy(update={"id": "replica-b"})}
    )
    stop = asyncio.Event()
    async with Service(a_settings, console=True) as a, Service(b_settings, console=True) as b:
        serving = [asyncio.create_task(s.pipeline.run_forever(stop)) for s in (a, b)]
        await site.wait_for_async(lambda s: all(s.hits(p) >= 5 for p in paths), 30)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*serving), 10)
        assert a.pipeline.polls and b.pipeline.polls, "both replicas polled"
    assert dict(tally.most) == dict.fromkeys(paths, 1), "never two requests at once"
    for path in paths:
        starts = tally.starts[path]
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        # The next poll is due an interval after the last one ended (no jitter here).
        assert min(gaps) >= 0.3 + 0.4 - 0.05, (path, gaps)


@pytest.mark.slow  # real time: three feeds hang for their 10 s deadline
async def test_a_hanging_feed_does_not_delay_a_healthy_one(harness: Harness) -> None:
    """While three feeds hang, the healthy feed keeps its interval and its alert comes fast."""
    site, api = harness.site, harness.telegram
    hanging = ["/hang1.xml", "/hang2.xml", "/hang3.xml"]
    for path in hanging:
        site.hang(path)
    site.route("/ok.xml", rss([]))
    site.route("/a/1", (CORPUS / "pages" / "standard_de.html").read_bytes(), content_type=HTML)
    harness.write([*hanging, "/ok.xml"], fetch={"deadline_seconds": 10})
    store = Store.open(harness.settings().db_url)
    store.subs.subscribe(CHAT, "kazakhstan")
    store.close()
    async with harness.running() as service:
        await site.wait_for_async(lambda s: all(s.hits(p) == 1 for p in hanging), 10)
        begun = time.monotonic()
        healthy = site.hits("/ok.xml")
        await site.wait_for_async(lambda s: s.hits("/ok.xml") >= healthy + 4, 8)
        item = {"title": "OVKS verlässt Kasachstan", "link": site.url("/a/1")}
        site.route("/ok.xml", rss([item]), etag='"2"')
        await harness.wait_sent(lambda a: any(m["chat_id"] == CHAT for m in a.sent), 8)
        waited = time.monotonic() - begun
        still = [site.hits(p) for p in hanging]
        overdue = service.metrics.registry.get_sample_value("newsbot_poll_overdue_seconds")
    # Under the old cycle, the healthy feed waited for the slowest feed's 10 s deadline.
    assert waited < 10, f"four polls and an alert took {waited:.1f} s"
    assert still == [1, 1, 1], "each hanging feed holds one poller, and is not polled again"
    assert overdue is not None and overdue < 5
    assert sum(m["chat_id"] == CHAT for m in api.sent) == 1


@pytest.mark.slow  # real time: a pass that outlasts the poll interval
async def test_once_polls_each_due_feed_exactly_once(harness: Harness) -> None:
    """Two pollers, slow answers: feeds fall due again during the pass, and still wait."""
    site, tally = harness.site, Tally(delay=0.15)
    paths = [f"/f{i}.xml" for i in range(12)]
    for path in paths:
        site.route_fn(path, tally.feed)
    harness.write(paths, poll_interval_seconds=0.3, polling={"pollers": 2})
    async with Service(harness.settings(), console=True) as service:
        report = await service.once()  # every feed, due or not (``newsbot once``)
        assert report.feeds == 12
        assert [site.hits(p) for p in paths] == [1] * 12
        past, later = (
            datetime.now(UTC) - timedelta(seconds=5),
            datetime.now(UTC) + timedelta(hours=1),
        )
        with service.store.engine.begin() as conn:
            conn.execute(feeds.update().values(next_poll_at=later))
            due = [site.url(p) for p in paths[::2]]
            conn.execute(feeds.update().where(feeds.c.url.in_(due)).values(next_poll_at=past))
        started = time.monotonic()
        report = await service.once(due_only=True)
        took = time.monotonic() - started
        assert report.feeds == 6
        assert [site.hits(p) for p in paths] == [2, 1] * 6, "each due feed once, no other"
        assert took > 0.3, "the pass outlasted the interval: feeds fell due again meanwhile"
        assert service.pipeline.poll_counts.total() == 18
        report = await service.once()
        assert [site.hits(p) for p in paths] == [3, 2] * 6
    assert max(tally.most.values()) == 1


def test_feeds_shows_a_feed_whose_polls_start_late(harness: Harness) -> None:
    """A crowded host: the lateness each claim measures reaches /feeds."""
    from bot.core.i18n import texts
    from bot.telegram.adminfeeds import health_block

    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    store = Store.open(harness.settings().db_url)
    try:
        store.feeds.sync([(harness.site.url("/f.xml"), "F", None, None)])
        with store.engine.begin() as conn:
            due = datetime.now(UTC) - timedelta(seconds=45)
            conn.execute(feeds.update().values(next_poll_at=due))
        since = datetime.now(UTC)  # the run's start: leases it took are never renewed
        got, _ = store.feeds.claim_fair("r", 60, 5, busy={}, per_host=2, since=since)
        assert len(got) == 1
        (health,) = store.feeds.health()
        assert health.poll_lateness is not None and 45 <= health.poll_lateness < 60
        line = health_block(1, health, texts("en"))
        assert "⏱ polled 45 s late last time" in line, line
        again, _ = store.feeds.claim_fair("r", 60, 5, busy={}, per_host=2, since=since)
        assert again == [], "leased: never handed out twice"
    finally:
        store.close()


def test_claims_are_fair_across_hosts() -> None:
    """Earliest due first, at most ``per_host`` per host, and the shortfall counted."""
    from bot.core.hosts import fair_pick

    urls = [f"http://a.test/{i}" for i in range(6)] + ["http://b.test/1", "http://c.test/1"]
    picked, waiting = fair_pick(urls, 4, str, {"c.test": 2}, 2)
    assert picked == ["http://a.test/0", "http://a.test/1", "http://b.test/1"]
    assert waiting == 0, "the rest wait for their host, not for a poller"
    picked, waiting = fair_pick(urls, 1, str, {}, 2)
    assert picked == ["http://a.test/0"] and waiting == 3, "a full pool: three could start"
