"""Metrics: values set in code come out of a real scrape of /metrics; /healthz says why."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.metrics import Metrics, MetricsServer


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
    with pytest.raises(RuntimeError), metrics.time_cycle():
        raise RuntimeError("a failed cycle still counts")

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
