"""Prometheus metrics and the small HTTP server that exposes them with ``/healthz``.

The metrics live in their own ``CollectorRegistry`` rather than the process-wide
default one, so that every ``Metrics`` (one per service, several per test run)
starts from zero and never collides on a name.

The server is stdlib ``ThreadingHTTPServer`` in a daemon thread: the scrape and
the health probe (which touches the database) never run on the event loop, and
nothing beyond ``prometheus_client`` is needed. ``start()`` binds before it
returns, so port 0 works and ``port`` is the real one.

The service records a cycle from its ``CycleReport`` alone: what this process
counted as it worked, so replicas sharing a database never count each other's
articles. Delivery outcomes come from the ``Deliverer``'s ``on_result`` hook; the
outbox gauges are read from the store at scrape time.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from bot.pipeline.report import CycleReport

log = logging.getLogger(__name__)

Health = Callable[[], tuple[bool, str]]
POLL_RESULTS = ("ok", "not_modified", "error")
TEXT_SOURCES = ("page", "feed")
# Deliverer outcomes other than "sent" (see bot/deliver.py).
ALERT_FAILURES = ("flood_wait", "timeout", "network", "refused", "chat_gone")
# What became of an item whose page could not be analysed (bot/pipeline/retries.py).
UNANALYSED_OUTCOMES = ("retry", "given_up", "quarantined")
# A cycle is a few seconds with quiet feeds and minutes with many new articles.
CYCLE_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
# How long after its due time a feed's poll started: under a second while on time.
LATENESS_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)


class Metrics:
    """Every newsbot metric, registered in a private registry."""

    def __init__(
        self,
        *,
        outbox_depth: Callable[[], float] | None = None,
        alerts_queued: Callable[[], float] | None = None,
        store_writable: Callable[[], float] | None = None,
        overdue: Callable[[], float] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.feeds_polled = Counter(
            "newsbot_feeds_polled", "Feed polls, by result.", ["result"], registry=r
        )
        self.fetch_errors = Counter(
            "newsbot_fetch_errors", "Failed feed or page requests, by kind.", ["kind"], registry=r
        )
        self.new_items = Counter(
            "newsbot_items_new", "New feed items processed, matched or not.", registry=r
        )
        self.articles_extracted = Counter(
            "newsbot_articles_extracted",
            "Articles stored (they matched a topic), by where their text came from: "
            "the page (extracted) or the feed's own text.",
            ["source"],
            registry=r,
        )
        self.matches = Counter("newsbot_matches", "Topic matches, by topic.", ["topic"], registry=r)
        self.unanalysed = Counter(
            "newsbot_items_unanalysed",
            "Items whose page could not be analysed (deadline, worker crash, page unreachable), "
            "by outcome: retried on a later poll, given up (recorded on the feed's text), or "
            "quarantined (its page killed a worker twice).",
            ["outcome"],
            registry=r,
        )
        self.alerts_sent = Counter("newsbot_alerts_sent", "Alerts delivered.", registry=r)
        self.alerts_failed = Counter(
            "newsbot_alerts_failed", "Alert delivery failures, by reason.", ["reason"], registry=r
        )
        self.outbox_depth = Gauge(
            "newsbot_outbox_depth",
            "Alerts in the outbox not yet sent (pending, or held for a digest).",
            registry=r,
        )
        self.alerts_queued = Gauge(
            "newsbot_alerts_queued",
            "Alerts queued for sending, now or after a retry back-off.",
            registry=r,
        )
        self.store_writable = Gauge(
            "newsbot_store_writable",
            "1 while the database takes writes; 0 while it cannot (disk full, read-only, "
            "unreachable), during which no alert is sent.",
            registry=r,
        )
        self.cycle_duration = Histogram(
            "newsbot_cycle_duration_seconds",
            "Wall time of one polling cycle.",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.last_cycle = Gauge(
            "newsbot_last_cycle_timestamp_seconds",
            "Unix time the last polling cycle finished.",
            registry=r,
        )
        self.poll_lateness = Histogram(
            "newsbot_poll_lateness_seconds",
            "How long after its due time each feed poll started. Late polls mean the "
            "pollers or a host's politeness spacing cannot keep up with the intervals.",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.latest_lateness = Gauge(
            "newsbot_poll_latest_lateness_seconds",
            "Lateness of the most recently started poll.",
            registry=r,
        )
        self.overdue = Gauge(
            "newsbot_poll_overdue_seconds",
            "How long the most overdue feed has been waiting to start, now (0: none waits).",
            registry=r,
        )
        self.pollers_busy = Gauge(
            "newsbot_pollers_busy", "Pollers (concurrent feed polls) in use now.", registry=r
        )
        self.pollers_exhausted = Counter(
            "newsbot_pollers_exhausted",
            "Times every poller was busy while due feeds waited (raise polling.pollers).",
            registry=r,
        )
        self.stage_cpu = Counter(
            "newsbot_stage_cpu_seconds",
            "CPU seconds spent in each analysis step (prefilter, extract, canonical, match, "
            "fingerprint), measured in the process that ran it (mostly the extraction workers).",
            ["stage"],
            registry=r,
        )
        # Known label values start at 0, so rate() works from the first scrape.
        for result in POLL_RESULTS:
            self.feeds_polled.labels(result=result)
        for source in TEXT_SOURCES:
            self.articles_extracted.labels(source=source)
        for reason in ALERT_FAILURES:
            self.alerts_failed.labels(reason=reason)
        for outcome in UNANALYSED_OUTCOMES:
            self.unanalysed.labels(outcome=outcome)
        if outbox_depth is not None:
            self.outbox_depth.set_function(outbox_depth)
        if alerts_queued is not None:
            self.alerts_queued.set_function(alerts_queued)
        self.store_writable.set_function(store_writable or (lambda: 1.0))
        if overdue is not None:
            self.overdue.set_function(overdue)

    def poll_started(self, lateness: float) -> None:
        """A feed's poll started ``lateness`` seconds after it fell due."""
        self.poll_lateness.observe(lateness)
        self.latest_lateness.set(lateness)

    def cycle_finished(self, seconds: float, at: float | None = None) -> None:
        """Record one finished cycle: its duration and when it ended."""
        self.cycle_duration.observe(seconds)
        self.last_cycle.set(time.time() if at is None else at)

    def record_cycle(self, report: CycleReport, seconds: float) -> None:
        """Count one finished pass (``once``) and its duration."""
        self.record_polls(report)
        self.cycle_finished(seconds)

    def record_polls(self, report: CycleReport) -> None:
        """Count polls: by result, errors by kind, items, matches."""
        failed = len(report.failed)
        ok = max(0, report.feeds - report.not_modified - failed)
        self.feeds_polled.labels(result="ok").inc(ok)
        self.feeds_polled.labels(result="not_modified").inc(report.not_modified)
        self.feeds_polled.labels(result="error").inc(failed)
        kinds = Tally(report.failed_kinds.get(url, "unknown") for url in report.failed)
        for kind, n in kinds.items():
            self.fetch_errors.labels(kind=kind).inc(n)
        self.new_items.inc(report.new_items)
        for source, n in report.by_source.items():
            self.articles_extracted.labels(source=source).inc(n)
        for topic, n in report.by_topic.items():
            self.matches.labels(topic=topic).inc(n)
        for outcome, n in report.unanalysed.items():
            self.unanalysed.labels(outcome=outcome).inc(n)

    def stage_cpu_spent(self, stage: str, seconds: float) -> None:
        """The pipeline's ``StageMeter`` hook: one analysis step's CPU."""
        self.stage_cpu.labels(stage=stage).inc(seconds)

    def alert_result(self, result: str) -> None:
        """The Deliverer's hook: ``"sent"``, or why one send attempt failed."""
        if result == "sent":
            self.alerts_sent.inc()
        elif result != "migrated":  # a migrated chat's alert is re-sent, not lost
            self.alerts_failed.labels(reason=result).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, self.server.metrics.render(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            ok, why = self.server.check_health()
            body = ("ok" if ok else why or "unhealthy") + "\n"
            self._reply(200 if ok else 503, body.encode(), "text/plain; charset=utf-8")
        else:
            self._reply(404, b"not found: try /metrics or /healthz\n", "text/plain")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("metrics_request", extra={"request": format % args})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], metrics: Metrics, health: Health | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.metrics, self.health = metrics, health
        super().__init__(address, _Handler)

    def check_health(self) -> tuple[bool, str]:
        if self.health is None:
            return True, "no health check configured"
        try:
            return self.health()
        except Exception as exc:  # a crashing probe is an unhealthy bot, not a 500
            return False, f"health check failed: {exc!r}"


class MetricsServer:
    """Serves ``/metrics`` and ``/healthz`` from a daemon thread until ``stop()``."""

    def __init__(
        self,
        metrics: Metrics,
        health: Health | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.metrics, self.health, self.host, self._port = metrics, health, host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:9108``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> MetricsServer:
        """Bind the socket (errors surface here) and serve in the background."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), self.metrics, self.health)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="newsbot-metrics",
            daemon=True,
        )
        self._thread.start()
        log.info("metrics_server_started", extra={"host": self.host, "port": self.port})
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; returns within about 0.2 s."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
