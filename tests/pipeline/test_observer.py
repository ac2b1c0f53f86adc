"""The observer hooks: every step of a poll and of an item, in order, with what it did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from bot.analysis.page import Analysis
from bot.app.service import Service
from bot.core.message import Alert
from bot.core.models import Article, Entry, FeedSource, FetchResult, ParsedFeed
from bot.pipeline.observer import Observer, Observers, StageMeter
from tests.fakes.web import HTML
from tests.helpers.harness import CORPUS, Harness, rss


class Recording(Observer):
    """Every hook call, as (hook, feed or item key, detail)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []
        self.analyses: dict[str, Analysis] = {}

    def on_poll_start(self, feed: FeedSource) -> None:
        self.calls.append(("poll_start", feed.url, None))

    def on_feed_fetched(self, feed: FeedSource, result: FetchResult) -> None:
        self.calls.append(("feed_fetched", feed.url, result.not_modified))

    def on_feed_parsed(self, feed: FeedSource, parsed: ParsedFeed) -> None:
        self.calls.append(("feed_parsed", feed.url, len(parsed.entries)))

    def on_poll_end(self, feed: FeedSource, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append(("poll_end", feed.url, outcome))

    def on_item_start(self, feed: FeedSource, entry: Entry) -> None:
        self.calls.append(("item_start", entry.link, None))

    def on_page_fetched(self, entry: Entry, page: FetchResult) -> None:
        self.calls.append(("page_fetched", entry.link, len(page.body)))

    def on_analysis(self, entry: Entry, analysis: Analysis) -> None:
        self.analyses[entry.link] = analysis
        self.calls.append(("analysis", entry.link, analysis.article.text_source))

    def on_recorded(self, entry: Entry, article: Article, alerts: Sequence[Alert]) -> None:
        self.calls.append(("recorded", entry.link, [alert.chat_id for alert in alerts]))

    def on_item_end(self, feed: FeedSource, entry: Entry, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append(("item_end", entry.link, outcome))

    def of(self, key: str) -> list[tuple[str, object]]:
        return [(hook, detail) for hook, k, detail in self.calls if k == key]


async def test_hooks_follow_each_feed_and_item_through_a_cycle(harness: Harness) -> None:
    site = harness.site
    now = datetime.now(UTC)
    page_url, feed_text_url, off_url = site.url("/a/1"), site.url("/a/2"), site.url("/a/3")
    items = [
        {"title": "OVKS verlässt Kasachstan", "link": page_url, "date": now},
        {"title": "Kazakhstan raises its grain quota", "link": feed_text_url, "date": now},
        {"title": "Weather in Lisbon", "link": off_url, "date": now},
    ]
    site.route("/feed.xml", rss(items), etag='"v1"')
    site.route("/a/1", (CORPUS / "pages" / "standard_de.html").read_bytes(), content_type=HTML)
    site.route("/a/3", "<html><body><p>Sunny in Lisbon.</p></body></html>", content_type=HTML)
    site.route("/down.xml", "x", status=503, content_type="text/plain")
    harness.write(["/feed.xml", "/down.xml"], alerts={"first_poll_max_age_hours": 24})
    seen = Recording()
    async with Service(harness.settings(), console=True, observer=seen) as service:
        await service.once()
        feed, down = site.url("/feed.xml"), site.url("/down.xml")
        assert seen.of(feed) == [
            ("poll_start", None),
            ("feed_fetched", False),
            ("feed_parsed", 3),
            ("poll_end", "ok"),
        ]
        assert seen.of(down) == [("poll_start", None), ("poll_end", "failed")]
        assert seen.of(page_url) == [
            ("item_start", None),
            ("page_fetched", len((CORPUS / "pages" / "standard_de.html").read_bytes())),
            ("analysis", "page"),
            ("recorded", [0]),  # the console chat
            ("item_end", "recorded"),
        ]
        assert seen.of(feed_text_url) == [  # its page is a 404: matched on the feed's text
            ("item_start", None),
            ("analysis", "feed"),
            ("recorded", [0]),
            ("item_end", "recorded"),
        ]
        assert [h for h, _ in seen.of(off_url)] == [
            "item_start",
            "page_fetched",
            "analysis",
            "item_end",
        ]
        assert seen.of(off_url)[-1] == ("item_end", "unmatched")
        worker = seen.analyses[page_url].cpu  # measured in the worker, returned with the result
        assert worker.prefilter > 0 and worker.extract > 0 and worker.match > 0
        assert seen.analyses[feed_text_url].cpu.extract == 0  # matched here, nothing extracted

        seen.calls.clear()
        await service.once()  # unchanged: a 304, and no items
        assert seen.of(feed) == [
            ("poll_start", None),
            ("feed_fetched", True),
            ("poll_end", "not_modified"),
        ]
        assert {k for _, k, _ in seen.calls} == {feed, down}


async def test_without_an_observer_the_pipeline_hears_only_the_stage_meter(
    harness: Harness,
) -> None:
    harness.site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    async with Service(harness.settings(), console=True) as service:
        announcing = service.pipeline.observer  # wakes delivery per recorded alert
        observers = announcing.inner  # type: ignore[attr-defined]
        assert isinstance(observers, Observers)
        assert [type(o) for o in observers.observers] == [StageMeter]
        report = await service.once()
    assert (report.feeds, report.failed) == (1, {})


async def test_stage_cpu_reaches_the_metrics(harness: Harness) -> None:
    """newsbot_stage_cpu_seconds_total: each analysis step's CPU, as the worker measured it."""
    site = harness.site
    item = {
        "title": "OVKS verlässt Kasachstan",
        "link": site.url("/a/1"),
        "date": datetime.now(UTC),
    }
    site.route("/feed.xml", rss([item]))
    site.route("/a/1", (CORPUS / "pages" / "standard_de.html").read_bytes(), content_type=HTML)
    harness.write(["/feed.xml"], alerts={"first_poll_max_age_hours": 24})
    async with Service(harness.settings(), console=True) as service:
        await service.once()
        spent = {
            s.labels["stage"]: s.value
            for family in text_string_to_metric_families(service.metrics.render().decode())
            if family.name == "newsbot_stage_cpu_seconds"
            for s in family.samples
            if s.name.endswith("_total")
        }
    assert spent["prefilter"] > 0 and spent["extract"] > 0 and spent["match"] > 0
