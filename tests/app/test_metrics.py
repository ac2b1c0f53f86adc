"""Metrics: values set in code come out of a real scrape of /metrics; /healthz says why."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot.app.metrics import Metrics, MetricsServer
from bot.app.service import Service
from bot.core.models import Article, TopicMatch
from bot.pipeline.report import CycleReport
from bot.store.schema import articles
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.web import HTML, LoopbackSite, RequestInfo
from tests.helpers.harness import CORPUS, Harness, rss


def scrape(server: MetricsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics scrape, keyed by (sample name, sorted labels)."""
    with httpx.Client(trust_env=False, timeout=5) as client:
        resp = client.get(server.url + "/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def get(server: MetricsServer, path: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=5) as client:
        return client.get(server.url + path)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def server(metrics: Metrics) -> Iterator[MetricsServer]:
    with MetricsServer(metrics, port=0) as srv:
        yield srv


def test_port_zero_binds_a_real_port(server: MetricsServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert get(server, "/metrics").status_code == 200, "and serves on it"


def test_counters_come_out_of_the_scrape(metrics: Metrics, server: MetricsServer) -> None:
    metrics.feeds_polled.labels(result="ok").inc(3)
    metrics.feeds_polled.labels(result="error").inc()
    metrics.fetch_errors.labels(kind="timeout").inc(2)
    metrics.articles_extracted.labels(source="page").inc(5)
    metrics.matches.labels(topic="kazakhstan").inc(4)
    metrics.alerts_sent.inc(7)
    metrics.alerts_failed.labels(reason="forbidden").inc()

    got = scrape(server)
    assert got["newsbot_feeds_polled_total", (("result", "ok"),)] == 3
    assert got["newsbot_feeds_polled_total", (("result", "error"),)] == 1
    assert got["newsbot_feeds_polled_total", (("result", "not_modified"),)] == 0
    assert got["newsbot_fetch_errors_total", (("kind", "timeout"),)] == 2
    assert got["newsbot_articles_extracted_total", (("source", "page"),)] == 5
    assert got["newsbot_articles_extracted_total", (("source", "feed"),)] == 0
    assert got["newsbot_matches_total", (("topic", "kazakhstan"),)] == 4
    assert got["newsbot_alerts_sent_total", ()] == 7
    assert got["newsbot_alerts_failed_total", (("reason", "forbidden"),)] == 1


def test_gauges_read_their_callables_at_scrape_time() -> None:
    depth = {"value": 2.0}
    metrics = Metrics(outbox_depth=lambda: depth["value"], alerts_queued=lambda: 9)
    with MetricsServer(metrics) as server:
        assert scrape(server)["newsbot_outbox_depth", ()] == 2
        depth["value"] = 11
        got = scrape(server)
    assert got["newsbot_outbox_depth", ()] == 11
    assert got["newsbot_alerts_queued", ()] == 9


def test_cycle_histogram_and_timestamp(metrics: Metrics, server: MetricsServer) -> None:
    metrics.cycle_finished(3.0, at=1_700_000_000)
    metrics.cycle_finished(40.0, at=1_700_000_300)
    metrics.cycle_finished(0.2)

    got = scrape(server)
    assert got["newsbot_cycle_duration_seconds_count", ()] == 3
    assert got["newsbot_cycle_duration_seconds_sum", ()] >= 43
    assert got["newsbot_cycle_duration_seconds_bucket", (("le", "5.0"),)] == 2
    assert got["newsbot_cycle_duration_seconds_bucket", (("le", "60.0"),)] == 3
    assert got["newsbot_last_cycle_timestamp_seconds", ()] > 1_700_000_300


def test_registries_are_independent() -> None:
    a, b = Metrics(), Metrics()
    a.alerts_sent.inc()
    assert b"newsbot_alerts_sent_total 1.0" in a.render()
    assert b"newsbot_alerts_sent_total 0.0" in b.render()


def test_healthz_200_when_healthy(metrics: Metrics) -> None:
    with MetricsServer(metrics, lambda: (True, "last cycle 5 s ago")) as server:
        resp = get(server, "/healthz")
    assert resp.status_code == 200
    assert resp.text.strip() == "ok"


def test_healthz_503_with_the_reason(metrics: Metrics) -> None:
    state = {"ok": True}

    def health() -> tuple[bool, str]:
        return state["ok"], "no polling cycle has completed yet"

    with MetricsServer(metrics, health) as server:
        assert get(server, "/healthz").status_code == 200
        state["ok"] = False
        resp = get(server, "/healthz")
    assert resp.status_code == 503
    assert "no polling cycle has completed yet" in resp.text


def test_healthz_503_when_the_probe_raises(metrics: Metrics) -> None:
    def health() -> tuple[bool, str]:
        raise OSError("database is locked")

    with MetricsServer(metrics, health) as server:
        resp = get(server, "/healthz")
    assert resp.status_code == 503
    assert "database is locked" in resp.text


def test_unknown_path_is_404(server: MetricsServer) -> None:
    assert get(server, "/nope").status_code == 404


def test_stop_releases_the_port(metrics: Metrics) -> None:
    server = MetricsServer(metrics).start()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        get(MetricsServer(metrics, port=port), "/metrics")
    with MetricsServer(metrics, port=port) as again:  # the port is free to bind again
        assert again.port == port and get(again, "/metrics").status_code == 200


# ------------------------------------------------- counted by this process, not read back


def test_record_cycle_counts_only_what_the_report_says(
    metrics: Metrics, server: MetricsServer
) -> None:
    report = CycleReport(feeds=3, not_modified=1, new_items=4)
    report.failed["http://x/f"] = "503"
    report.failed_kinds["http://x/f"] = "http_503"
    page = Article("http://x/1", "t", "", "body", "s", None, text_source="page")
    feed_text = Article("http://x/2", "t", "", "", "s", None, text_source="feed")
    kz, csto = TopicMatch("kazakhstan", "Kazakhstan"), TopicMatch("csto", "CSTO")
    report.stored(page, [kz, csto], alerts=3)
    report.stored(feed_text, [kz], alerts=1)
    metrics.record_cycle(report, 1.5)

    got = scrape(server)
    assert (report.matched, report.alerts) == (2, 4)
    assert got["newsbot_feeds_polled_total", (("result", "ok"),)] == 1
    assert got["newsbot_feeds_polled_total", (("result", "not_modified"),)] == 1
    assert got["newsbot_feeds_polled_total", (("result", "error"),)] == 1
    assert got["newsbot_fetch_errors_total", (("kind", "http_503"),)] == 1
    assert got["newsbot_items_new_total", ()] == 4
    assert got["newsbot_articles_extracted_total", (("source", "page"),)] == 1
    assert got["newsbot_articles_extracted_total", (("source", "feed"),)] == 1
    assert got["newsbot_matches_total", (("topic", "kazakhstan"),)] == 2
    assert got["newsbot_matches_total", (("topic", "csto"),)] == 1
    assert got["newsbot_cycle_duration_seconds_count", ()] == 1


def _counted(service: Service) -> dict[str, float]:
    """The article and match counters of one service, by label value."""
    out = {}
    for family in text_string_to_metric_families(service.metrics.render().decode()):
        for s in family.samples:
            if s.name in ("newsbot_articles_extracted_total", "newsbot_matches_total") and s.value:
                out[s.labels.get("source") or s.labels["topic"]] = s.value
    return out


async def test_two_pipelines_on_one_store_count_only_their_own_articles(
    tmp_path: Path, site: LoopbackSite, telegram: FakeBotAPI, harness: Harness
) -> None:
    """A's cycle spans B's whole cycle on the same database: each counts only its own.

    Read back from the store (as metrics once were), A would count B's article too.
    """
    now = datetime.now(UTC)
    released = threading.Event()

    def slow_page(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        released.wait(20)  # A's cycle stays open until B's has stored its article
        return 200, {"Content-Type": HTML}, (CORPUS / "pages" / "standard_de.html").read_bytes()

    site.route("/a.xml", rss([{"title": "OVKS", "link": site.url("/a/1"), "date": now}]))
    site.route_fn("/a/1", slow_page)
    b_item = {"title": "Kazakhstan raises its grain quota", "link": site.url("/b/1"), "date": now}
    site.route("/b.xml", rss([b_item]))  # /b/1 is a 404: B matches the feed's own text
    alerts = {"first_poll_max_age_hours": 24}
    harness.write(["/a.xml"], alerts=alerts, fetch={"deadline_seconds": 30})
    (tmp_path / "b").mkdir()
    other = Harness(tmp_path / "b", site, telegram)
    other.write(["/b.xml"], alerts=alerts, state_dir=str(tmp_path / "state"))  # one store

    async with Service(harness.settings(), console=True) as a:
        cycle_a = asyncio.create_task(a.once())
        await site.wait_for_async(lambda s: s.hits("/a/1") >= 1)
        async with Service(other.settings(), console=True) as b:
            report_b = await b.once()
            released.set()
            report_a = await cycle_a
            assert b.settings.db_url == a.settings.db_url
            with b.store.engine.connect() as conn:  # both articles are in the one store
                assert conn.scalar(sa.select(sa.func.count()).select_from(articles)) == 2
            assert _counted(b) == {"feed": 1, "kazakhstan": 1}
        topics = ("kazakhstan", "csto", "tokayev", "kazakhstan_unrest", "csto_deployment")
        assert _counted(a) == {"page": 1, **dict.fromkeys(topics, 1)}  # not B's as well
    assert (report_a.matched, report_b.matched) == (1, 1)
    assert report_a.by_topic == dict.fromkeys(topics, 1)


async def test_an_item_another_pipeline_recorded_first_is_not_counted_twice(
    tmp_path: Path, site: LoopbackSite, harness: Harness
) -> None:
    """Both poll one feed; B records the item while A still fetches its page: A counts 0."""
    released = threading.Event()
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()

    def first_waits(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        if site.hits("/a/1") == 1:  # A's request; B's (the second) is answered at once
            released.wait(20)
        return 200, {"Content-Type": HTML}, page

    now = datetime.now(UTC)
    site.route("/a.xml", rss([{"title": "OVKS", "link": site.url("/a/1"), "date": now}]))
    site.route_fn("/a/1", first_waits)
    harness.write(
        ["/a.xml"], alerts={"first_poll_max_age_hours": 24}, fetch={"deadline_seconds": 30}
    )
    async with Service(harness.settings(), console=True) as a:
        cycle_a = asyncio.create_task(a.once())
        await site.wait_for_async(lambda s: s.hits("/a/1") >= 1)
        async with Service(harness.settings(), console=True) as b:
            report_b = await b.once()
            released.set()
            report_a = await cycle_a
            assert _counted(b)["page"] == 1
        assert (report_b.matched, report_a.matched) == (1, 0)
        assert report_a.new_items == 1  # A did the work, but B's record stands
        assert _counted(a) == {}
        assert a.deliverer.sender.count == 0 and b.deliverer.sender.count == 1
