"""``newsbot run`` as a real process: SIGTERM, SIGKILL, the healthcheck and /metrics.

Each test starts ``python -m bot --config <tmp> run`` against the loopback fakes
(feeds and pages from ``LoopbackSite``, Telegram from ``FakeBotAPI``). The child
process is not covered by pytest-socket, so every URL it is given is loopback,
and proxy variables are removed from its environment. Waits are on events of
the fakes, or bounded polls of the database, the log or an HTTP endpoint.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.health import HEARTBEAT_MAX_SECONDS
from bot.store import Store
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.web import HTML, LoopbackSite, RequestInfo
from tests.helpers.harness import CORPUS, Harness, rss
from tests.helpers.process import FRESH, STOP_LIMIT, Bot, newsbot, wait_until

CHAT = 5151

pytestmark = pytest.mark.process  # every test runs `newsbot run` as a child


def db_path(harness: Harness) -> Path:
    return harness.root / "state" / "newsbot.sqlite3"


def query(harness: Harness, sql: str, *params: object) -> list[tuple]:
    """Read the bot's database from outside, as another process would."""
    conn = sqlite3.connect(db_path(harness), timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def subscribe(harness: Harness, chat_id: int, topic: str) -> None:
    """Subscribe a chat before the bot starts (creates and migrates the database)."""
    store = Store.open(harness.settings().db_url)
    try:
        store.subs.subscribe(chat_id, topic)
    finally:
        store.close()


def alerts_to(api: FakeBotAPI, chat_id: int = CHAT) -> list[str]:
    return [m["text"] for m in api.sent if m["chat_id"] == chat_id and "<a href=" in m["text"]]


def item(site: LoopbackSite, path: str, title: str) -> dict[str, Any]:
    return {"title": title, "link": site.url(path), "date": datetime.now(UTC)}


# Alert on items published within a day even at a feed's first poll, so one cycle
# is enough; JSON logs so the test can read events such as the metrics port.


def test_sigterm_mid_cycle_exits_0_within_10_s_and_the_item_in_flight_is_alerted_once(
    harness: Harness, bot: Bot
) -> None:
    site, api = harness.site, harness.telegram
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    title = "OVKS beginnt Truppenabzug aus Kasachstan"
    site.route("/feed.xml", rss([item(site, "/article/1", title)]))
    site.hang("/article/1")  # the item is in flight: its page never arrives
    site.hang("/slow.xml")  # and a whole feed hangs
    # Deadlines far beyond the grace: only the shutdown path can end this cycle.
    harness.write(["/feed.xml", "/slow.xml"], fetch={"deadline_seconds": 120}, **FRESH)
    subscribe(harness, CHAT, "kazakhstan")

    bot.start()
    site.wait_for(lambda s: s.hits("/article/1") >= 1 and s.hits("/slow.xml") >= 1, 30)
    code, seconds = bot.stop(signal.SIGTERM)

    assert code == 0, bot.tail()
    assert seconds < STOP_LIMIT, f"took {seconds:.1f} s to stop"
    events = [e["event"] for e in bot.events() if e["logger"].startswith("bot.")]
    assert "shutdown_grace_exceeded" in events, "the hanging cycle was abandoned, not awaited"
    assert events[-2:] == ["job_abandoned", "service_stopped"], bot.tail()
    assert not [e for e in bot.events() if e["level"] in ("error", "critical")], bot.tail()
    assert alerts_to(api) == []
    assert query(harness, "SELECT count(*) FROM items")[0][0] == 0, "nothing half-recorded"

    site.route("/article/1", page, content_type=HTML)
    site.route("/slow.xml", rss([]))
    bot.start()
    api.wait_for(lambda a: len(alerts_to(a)) >= 1, 30)
    polls = site.hits("/feed.xml")
    site.wait_for(lambda s: s.hits("/feed.xml") >= polls + 2, 20)  # two more full cycles
    code, seconds = bot.stop(signal.SIGTERM)

    assert code == 0, bot.tail()
    assert seconds < STOP_LIMIT
    alerts = alerts_to(api)
    assert len(alerts) == 1, alerts
    assert title in alerts[0]
    assert query(harness, "SELECT status, count(*) FROM outbox GROUP BY status") == [("sent", 1)]


def test_sigkill_mid_delivery_loses_no_alert(harness: Harness, bot: Bot) -> None:
    site, api = harness.site, harness.telegram
    titles = [
        "Kazakhstan raises its grain export quota",
        "Astana hosts the Kazakhstan energy forum",
        "Kazakhstan central bank holds its base rate",
        "Kazakhstan opens a new rail link to China",
        "Kazakhstan parliament passes the budget",
        "Drought hits wheat farms across Kazakhstan",
    ]
    # Article pages 404, so each alert uses the feed's own text: quick and distinct.
    site.route("/feed.xml", rss([item(site, f"/a/{i}", t) for i, t in enumerate(titles)]))
    paced = {**FRESH["alerts"], "per_chat_interval_seconds": 0.3}
    harness.write(["/feed.xml"], **{**FRESH, "alerts": paced})
    subscribe(harness, CHAT, "kazakhstan")

    bot.start()
    api.wait_for(lambda a: len(alerts_to(a)) >= 2, 30)
    api.fail("sendMessage", 502, "Bad Gateway", times=100_000)  # Telegram goes down
    first = len(alerts_to(api))
    api.wait_for(lambda a: len(a.calls("sendMessage")) > first, 10)  # a send has failed
    code, _ = bot.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL

    pending = query(harness, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]
    assert pending >= 1, "the kill must come while alerts are still queued"
    assert pending + first >= len(titles)

    with FakeBotAPI() as healthy:  # restart against a healthy Bot API
        harness.telegram = healthy
        harness.write(["/feed.xml"], **{**FRESH, "alerts": paced})
        bot.start()
        wait_until(
            lambda: not query(harness, "SELECT 1 FROM outbox WHERE status != 'sent'"),
            "every queued alert to be sent",
            bot=bot,
        )
        code, _ = bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
        delivered = alerts_to(api) + alerts_to(healthy)

    for title in titles:
        assert sum(title in text for text in delivered) >= 1, f"lost: {title}"
    # Only the one send in flight at the kill may be repeated (bot/store/outbox.py).
    assert len(delivered) <= len(titles) + 1, delivered


def test_healthcheck_turns_unhealthy_when_polling_stalls(harness: Harness, bot: Bot) -> None:
    site = harness.site
    release = threading.Event()
    stalled = {"on": False}

    def feed(_: RequestInfo) -> tuple[int, dict[str, str], str]:
        if stalled["on"]:
            release.wait(60)  # the poll hangs until the test lets it go
        return 200, {"Content-Type": "application/rss+xml"}, rss([])

    site.route_fn("/feed.xml", feed)
    harness.write(["/feed.xml"], fetch={"deadline_seconds": 120}, metrics_port=0, **FRESH)
    assert newsbot(harness, "healthcheck").returncode == 1  # no scheduler yet

    try:
        bot.start()
        started = wait_until(lambda: bot.event("metrics_server_started"), "metrics", bot=bot)
        healthz = f"http://127.0.0.1:{started['port']}/healthz"
        wait_until(lambda: query_meta(harness, "scheduler_at"), "the scheduler", bot=bot)

        result = newsbot(harness, "healthcheck")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("healthy: polls on time"), result.stdout
        assert get(healthz).status_code == 200

        # From the next request on the feed hangs: one poller waits on its deadline,
        # which is the feed's own business, and the scheduler (its heartbeat) goes on.
        stalled["on"] = True
        polls = site.hits("/feed.xml")
        site.wait_for(lambda s: s.hits("/feed.xml") > polls, 20)
        assert newsbot(harness, "healthcheck").returncode == 0, "a hanging feed is not a stall"
        # A stalled scheduler stops its heartbeat: age it past the limit, as if it had.
        old = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_MAX_SECONDS + 30)
        set_meta(harness, "scheduler_at", old.isoformat())

        result = newsbot(harness, "healthcheck")
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.startswith("unhealthy: the poll scheduler last ran"), result.stdout
        assert f"(limit {HEARTBEAT_MAX_SECONDS:.0f} s)" in result.stdout
        resp = get(healthz)
        assert resp.status_code == 503
        assert "the poll scheduler last ran" in resp.text

        release.set()  # the scheduler's next beat makes the heartbeat fresh again
        wait_until(lambda: get(healthz).status_code == 200, "/healthz to recover", bot=bot)
        assert newsbot(harness, "healthcheck").returncode == 0
    finally:
        release.set()
    code, _ = bot.stop(signal.SIGTERM)
    assert code == 0, bot.tail()


def test_metrics_of_a_running_bot_parse_and_show_the_polls(harness: Harness, bot: Bot) -> None:
    site, api = harness.site, harness.telegram
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    site.route("/feed.xml", rss([item(site, "/article/1", "OVKS verlässt Kasachstan")]), etag='"1"')
    site.route("/article/1", page, content_type=HTML)
    site.route("/broken.xml", "oops", status=500, content_type="text/plain")
    harness.write(["/feed.xml", "/broken.xml"], metrics_port=0, **FRESH)
    subscribe(harness, CHAT, "kazakhstan")
    started_at = time.time()

    bot.start()
    started = wait_until(lambda: bot.event("metrics_server_started"), "metrics", bot=bot)
    url = f"http://127.0.0.1:{started['port']}/metrics"
    api.wait_for(lambda a: len(alerts_to(a)) >= 1, 30)

    def scraped() -> dict[tuple[str, tuple], float] | None:
        got = scrape(url)
        ready = (
            got.get(("newsbot_feeds_polled_total", (("result", "not_modified"),)), 0) >= 1
            and got.get(("newsbot_alerts_sent_total", ()), 0) >= 1
            and got.get(("newsbot_outbox_depth", ()), 1) == 0
        )
        return got if ready else None

    got = wait_until(scraped, "a 304 poll and the alert in /metrics", bot=bot)
    code, _ = bot.stop(signal.SIGTERM)
    assert code == 0, bot.tail()

    assert got["newsbot_feeds_polled_total", (("result", "ok"),)] >= 1
    assert got["newsbot_feeds_polled_total", (("result", "error"),)] >= 1
    assert got["newsbot_fetch_errors_total", (("kind", "http_500"),)] >= 1
    assert got["newsbot_articles_extracted_total", (("source", "page"),)] == 1
    assert got["newsbot_matches_total", (("topic", "kazakhstan"),)] == 1
    assert got["newsbot_alerts_sent_total", ()] == 1
    assert got["newsbot_alerts_queued", ()] == 0
    # `run` has no cycles: each poll's lateness is observed as it starts.
    assert got["newsbot_poll_lateness_seconds_count", ()] >= 3
    assert got["newsbot_cycle_duration_seconds_count", ()] == 0
    assert 0 <= got["newsbot_poll_overdue_seconds", ()] < 30
    assert got["newsbot_pollers_exhausted_total", ()] == 0
    assert time.time() >= started_at


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample, parsed by prometheus_client's own parser."""
    resp = get(url)
    assert resp.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def get(url: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.get(url)


def query_meta(harness: Harness, key: str) -> str | None:
    if not db_path(harness).exists():
        return None
    try:
        rows = query(harness, "SELECT value FROM meta WHERE key = ?", key)
    except sqlite3.OperationalError:  # not migrated yet
        return None
    return rows[0][0] if rows else None


def set_meta(harness: Harness, key: str, value: str) -> None:
    conn = sqlite3.connect(db_path(harness), timeout=10)
    try:
        with conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    finally:
        conn.close()
