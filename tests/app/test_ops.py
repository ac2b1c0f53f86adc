"""Operations, in process: the health rule, metrics wiring, the stop path, state commands."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import service as service_module
from bot.app.cli import main
from bot.app.health import HEARTBEAT_MAX_SECONDS, check, healthcheck, late_limit
from bot.app.metrics import Metrics
from bot.app.service import Service
from bot.config.settings import load_settings
from bot.core.errors import NewsbotError
from bot.store import Store
from bot.store.schema import feeds
from tests.fakes.web import HTML, RequestInfo
from tests.helpers.harness import CORPUS, ROOT, Harness, rss

CHAT = 6161


def sample(service: Service, name: str, **labels: str) -> float:
    value = service.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


# ---------------------------------------------------------------- health


def _overdue(store: Store, url: str, seconds: float, *, leased: bool = False) -> None:
    """Make ``url``'s feed due ``seconds`` ago (and leased to a live poll, or not)."""
    now = datetime.now(UTC)
    values: dict = {"next_poll_at": now - timedelta(seconds=seconds)}
    if leased:
        values.update(lease_owner="elsewhere", lease_until=now + timedelta(seconds=600))
    with store.engine.begin() as conn:
        conn.execute(feeds.update().where(feeds.c.url == url).values(**values))


def test_health_rule_heartbeat_and_late_polls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both paths (the service's SQLAlchemy one, the container's stdlib one) agree."""
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    settings = load_settings(tmp_path)
    store = Store.open(settings.db_url)

    def both(interval: float = 300) -> list[tuple[bool, str]]:
        return [
            check(store, interval),
            healthcheck(settings.model_copy(update={"poll_interval_seconds": interval})),
        ]

    try:
        for ok, why in both():
            assert not ok and why == "the poll scheduler has not started (no heartbeat yet)"
        store.heartbeat()
        store.feeds.sync([("http://a.test/f.xml", "A", None, None)])
        for ok, why in both():  # never polled: no due time yet, so not late
            assert ok and why.startswith("polls on time"), why
        assert late_limit(300) == 150 and late_limit(10) == 30
        _overdue(store, "http://a.test/f.xml", 100)
        assert all(ok for ok, _ in both()), "late, but within half an interval"
        _overdue(store, "http://a.test/f.xml", 200)
        for ok, why in both():
            assert not ok and why.startswith("polls are late: 1 feed(s) due and not started"), why
            assert why.endswith("(limit 150 s)"), why
        assert all(ok for ok, _ in both(3600)), "the limit scales with the poll interval"
        _overdue(store, "http://a.test/f.xml", 200, leased=True)
        assert all(ok for ok, _ in both()), "being polled: its own deadline bounds it"
        old = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_MAX_SECONDS + 5)
        store.set_meta("scheduler_at", old.isoformat())
        for ok, why in both():
            assert not ok and why.startswith("the poll scheduler last ran"), why
    finally:
        store.close()


def test_healthcheck_reports_an_unusable_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "file"  # a file where the state directory should be
    blocker.write_text("")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", f"sqlite:///{blocker}/db.sqlite3")
    ok, why = healthcheck(load_settings(tmp_path))
    assert not ok and why.startswith("store not usable:")


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(("value", "port"), [("9108", 9108), ("", None), ("0", 0)])
def test_metrics_port_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, port: int | None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_METRICS_PORT", value)
    settings = load_settings(tmp_path)
    assert settings.metrics_port == port
    assert settings.metrics_host == "127.0.0.1"


# ---------------------------------------------------------------- metrics wiring


async def test_cycle_and_delivery_outcomes_are_counted(harness: Harness) -> None:
    site, api = harness.site, harness.telegram
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    now = datetime.now(UTC)
    items = [
        {"title": "OVKS verlässt Kasachstan", "link": site.url("/a/1"), "date": now},
        {"title": "Kazakhstan raises its grain quota", "link": site.url("/a/2"), "date": now},
        {"title": "Weather in Lisbon", "link": site.url("/a/3"), "date": now},
    ]
    site.route("/feed.xml", rss(items))
    site.route("/a/1", page, content_type=HTML)  # /a/2 and /a/3: 404, the feed's text is used
    site.route("/down.xml", "x", status=503, content_type="text/plain")
    harness.write(["/feed.xml", "/down.xml"], alerts={"first_poll_max_age_hours": 24})
    api.fail("sendMessage", 502, "Bad Gateway")  # the first send fails, then it is retried
    async with Service(harness.settings()) as service:
        service.store.subs.subscribe(CHAT, "kazakhstan")
        service.store.subs.subscribe(CHAT + 1, "kazakhstan")
        api.set_blocked(CHAT + 1)
        await service.once()  # the first send fails: the Deliverer backs off for 1 s
        assert sample(service, "newsbot_alerts_failed_total", reason="network") == 1
        # The blocked chat was sent to in parallel: refused, deactivated, its alerts dropped.
        assert sample(service, "newsbot_alerts_failed_total", reason="chat_gone") == 1
        assert sample(service, "newsbot_outbox_depth") == 2
        for _ in range(200):  # poll (bounded) while the back-off runs out
            if sample(service, "newsbot_alerts_sent_total") >= 2:
                break
            await asyncio.sleep(0.05)
            await service.deliverer.deliver_due()

        assert sample(service, "newsbot_feeds_polled_total", result="ok") == 1
        assert sample(service, "newsbot_feeds_polled_total", result="error") == 1
        assert sample(service, "newsbot_fetch_errors_total", kind="http_503") == 1
        assert sample(service, "newsbot_articles_extracted_total", source="page") == 1
        assert sample(service, "newsbot_articles_extracted_total", source="feed") == 1
        assert sample(service, "newsbot_items_new_total") == 3  # the Lisbon one matched nothing
        assert sample(service, "newsbot_matches_total", topic="kazakhstan") == 2
        assert sample(service, "newsbot_alerts_sent_total") == 2
        assert sample(service, "newsbot_alerts_failed_total", reason="network") == 1
        assert sample(service, "newsbot_alerts_failed_total", reason="chat_gone") == 1
        assert sample(service, "newsbot_cycle_duration_seconds_count") == 1
        assert sample(service, "newsbot_outbox_depth") == 0
        assert sample(service, "newsbot_alerts_queued") == 0


async def test_metrics_port_in_use_is_a_clear_error(harness: Harness) -> None:
    harness.site.route("/feed.xml", rss([]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        harness.write(["/feed.xml"], metrics_port=port)
        async with Service(harness.settings()) as service:
            with pytest.raises(NewsbotError, match=f"metrics server cannot listen on .*:{port}"):
                await service.serve(asyncio.Event())
            assert service.pipeline.polls == 0, "refused before any polling"


# ---------------------------------------------------------------- stopping


async def test_stop_lets_a_cycle_finish_within_the_grace_and_sends_nothing_new(
    harness: Harness,
) -> None:
    """Work in flight at SIGTERM completes and is recorded; its alert waits for the restart."""
    site, api = harness.site, harness.telegram
    release = threading.Event()
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()

    def slow_page(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        release.wait(10)
        return 200, {"Content-Type": HTML}, page

    link = site.url("/a/1")
    item = {"title": "OVKS verlässt Kasachstan", "link": link, "date": datetime.now(UTC)}
    site.route("/feed.xml", rss([item]))
    site.route_fn("/a/1", slow_page)
    harness.write(["/feed.xml"], alerts={"first_poll_max_age_hours": 24})
    store = Store.open(harness.settings().db_url)
    store.subs.subscribe(CHAT, "kazakhstan")
    store.close()

    stop = asyncio.Event()
    async with Service(harness.settings()) as service:
        serving = asyncio.create_task(service.serve(stop))
        await asyncio.to_thread(site.wait_for, lambda s: s.hits("/a/1") >= 1, 20)
        stop.set()
        for _ in range(200):  # until the stop is under way (bounded poll)
            if not service.gate.is_open:
                break
            await asyncio.sleep(0.01)
        assert not service.gate.is_open
        release.set()  # only now does the page arrive
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(serving, service_module.SHUTDOWN_GRACE + 2)
        assert asyncio.get_running_loop().time() - started < service_module.SHUTDOWN_GRACE
        assert service.store.outbox.counts() == {"pending": 1}, "recorded, not sent"
        assert service.pipeline.polls == 1
    assert not [m for m in api.sent if m["chat_id"] == CHAT]

    async with harness.running() as service:
        await harness.wait_sent(lambda a: any(m["chat_id"] == CHAT for m in a.sent))
        await service.pipeline.wait_polls(service.pipeline.polls + 1)
    alerts = [m["text"] for m in api.sent if m["chat_id"] == CHAT]
    assert len(alerts) == 1 and link in alerts[0], "the held alert, sent once"
    assert site.hits("/a/1") == 1, "recorded before the stop: not fetched again"


# ---------------------------------------------------------------- state backup / restore


def test_state_backup_default_folder_and_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(f"state_dir: {tmp_path / 'state'}\n")
    url = load_settings(config).db_url
    store = Store.open(url)
    store.subs.subscribe(1, "kazakhstan")
    store.close()

    assert main(["--config", str(config), "state", "backup"]) == 0
    out = capsys.readouterr().out
    copies = list((tmp_path / "state" / "backups").glob("newsbot-*.sqlite3"))
    assert len(copies) == 1
    assert out.strip() == f"backup written: {copies[0]}"

    store = Store.open(url)
    store.subs.unsubscribe(1, "kazakhstan")
    store.close()
    assert main(["--config", str(config), "state", "restore", str(copies[0])]) == 0
    assert "the previous database is kept as" in capsys.readouterr().out
    store = Store.open(url)
    assert store.subs.topics_of(1) == ["kazakhstan"]
    store.close()

    assert main(["--config", str(config), "state", "backup", str(copies[0])]) == 1
    assert "already exists" in capsys.readouterr().err


def test_state_commands_refuse_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://newsbot:secret@db/newsbot")
    assert main(["--config", str(tmp_path), "state", "backup"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err and "secret" not in err


def test_the_deployment_guide_lists_exactly_the_metrics_served() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    documented = set(re.findall(r"^\| `(newsbot_\w+)` \|", guide, re.M))
    served = set()
    for family in Metrics().registry.collect():
        kind = family.type
        served.add(family.name + ("_total" if kind == "counter" else ""))
    assert documented == served
