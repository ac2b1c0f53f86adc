"""``newsbot run`` as a real process whose disk fills up, or whose database goes away.

Found this way (issue 17): Telegram accepted a message, recording it as sent
failed ("database or disk is full"), and the same alert went out again every
second: 29 copies per chat in 30 s on a 20 MB disk; the same when the database
went away. Here the sends are held in flight at the fake Bot API, the store is
broken under them, and they are let through: each chat gets its alert once, the
admins are told, ``/healthz`` turns 503 and the log says why; once the store is
back, every alert is delivered, still exactly once.

The disk is a real 20 MB tmpfs, mounted in a user and mount namespace of the
bot's own (``unshare -rm``; skipped where that is not allowed) and filled from
outside through ``/proc/<pid>/root``. The database outage is a real PostgreSQL
database closed to connections, its sessions terminated.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.store import Store
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers.harness import Harness, rss
from tests.helpers.pg import admin_engine
from tests.helpers.process import Bot, newsbot, wait_until

pytestmark = pytest.mark.process
ADMIN, CHATS = 901, (71, 72)
TITLES = ["Kazakhstan raises grain quota", "Tokayev opens the forum", "CSTO meets in Astana"]
MOUNT = 'mount -t tmpfs -o size=20m tmpfs "$0" && exec "$@"'


def alerts(api: FakeBotAPI) -> Counter:
    return Counter(
        (m["chat_id"], t) for m in api.sent for t in TITLES if t in m["text"] and "<a " in m["text"]
    )


def notices(api: FakeBotAPI) -> list[str]:
    return [m["text"] for m in api.sent if m["chat_id"] == ADMIN]


def setup(harness: Harness, **settings: object) -> None:
    now, site = datetime.now(UTC), harness.site
    items = [
        {"title": t, "link": site.url(f"/gone/{i}"), "date": now} for i, t in enumerate(TITLES)
    ]
    site.route("/feed.xml", rss(items))
    harness.write(
        ["/feed.xml"],
        metrics_port=0,
        log_json=True,
        alerts={"first_poll_max_age_hours": 24},
        **settings,
    )


def healthz(bot: Bot) -> httpx.Response:
    started = wait_until(lambda: bot.event("metrics_server_started"), "metrics", bot=bot)
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.get(f"http://127.0.0.1:{started['port']}/healthz")


def break_and_mend(
    harness: Harness,
    bot: Bot,
    kind: tuple[str, str],
    cut: Callable[[], None],
    mend: Callable[[], None],
) -> None:
    """The shared script: sends in flight, the store breaks, they land; no repeats."""
    api = harness.telegram
    api.hold("sendMessage")
    bot.start()
    api.wait_for(lambda a: a.waiting("sendMessage") == len(CHATS), 30)  # one per chat lane
    cut()
    api.release("sendMessage")  # Telegram accepts both; recording "sent" fails
    fault, words = kind  # the fault's kind, and how the admins' notice says it
    api.wait_for(lambda a: len(notices(a)) >= 1, 20)
    assert words in notices(api)[0], notices(api)
    polls = len(api.calls("getUpdates"))
    api.wait_for(lambda a: len(a.calls("getUpdates")) >= polls + 3, 20)  # seconds go by
    assert sorted(alerts(api).values()) == [1, 1], "one alert per chat, never repeated"
    event = wait_until(lambda: bot.event("store_unwritable"), "the log line", bot=bot)
    assert event["kind"] == fault, event
    unhealthy = healthz(bot)
    assert unhealthy.status_code == 503 and "store not writable" in unhealthy.text

    mend()
    api.wait_for(lambda a: sum(alerts(a).values()) == len(CHATS) * len(TITLES), 60)
    api.wait_for(lambda a: any("takes writes again" in n for n in notices(a)), 20)
    wait_until(lambda: healthz(bot).status_code == 200, "/healthz to recover", bot=bot)
    code, _ = bot.stop(signal.SIGTERM)
    assert code == 0, bot.tail()
    assert alerts(api) == Counter({(c, t): 1 for c in CHATS for t in TITLES}), "each once"


def namespaces_allowed(root: Path) -> bool:
    probe = root / "probe"
    probe.mkdir()
    done = subprocess.run(["unshare", "-rm", "sh", "-c", MOUNT, str(probe), "true"], check=False)
    return done.returncode == 0


@pytest.fixture
def bot(harness: Harness) -> Iterator[Bot]:
    disk = harness.root / "disk"
    disk.mkdir()
    process = Bot(harness, wrap=["unshare", "-rm", "sh", "-c", MOUNT, str(disk)])
    try:
        yield process
    finally:
        process.cleanup()


def test_a_full_disk_repeats_no_alert_and_is_reported(harness: Harness, bot: Bot) -> None:
    if shutil.which("unshare") is None or not namespaces_allowed(harness.root):
        pytest.skip("needs unshare -rm (user and mount namespaces) to mount a small tmpfs")
    disk = harness.root / "disk"
    channels = {chat: ["kazakhstan", "tokayev", "csto"] for chat in CHATS}
    setup(harness, state_dir=str(disk), telegram={"admins": [ADMIN], "channels": channels})

    def inside() -> Path:  # the bot's view of its disk, from outside its namespace
        assert bot.proc is not None
        return Path(f"/proc/{bot.proc.pid}/root") / disk.relative_to("/")

    def fill() -> None:
        # Unbuffered: a buffered file keeps the tail of a partial write and raises
        # ENOSPC again when it is closed (whether it does depends on the free space
        # left, i.e. on how large the database happens to be).
        with open(inside() / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(bytes(1 << 16))
            except OSError:
                pass  # ENOSPC: full

    full = ("disk_full", "the disk holding the database is full")
    break_and_mend(harness, bot, full, fill, lambda: os.unlink(inside() / "filler"))


@pytest.fixture
def pg_bot(harness: Harness) -> Iterator[Bot]:
    process = Bot(harness)
    try:
        yield process
    finally:
        process.cleanup()


def test_a_database_outage_repeats_no_alert_and_is_reported(
    harness: Harness, pg_bot: Bot, pg_url: str
) -> None:
    setup(harness, database_url=pg_url, telegram={"admins": [ADMIN]})
    store = Store.open(pg_url)
    for chat in CHATS:
        store.subs.subscribe(chat, "kazakhstan")
        store.subs.subscribe(chat, "tokayev")
        store.subs.subscribe(chat, "csto")
    store.close()
    name = sa.make_url(pg_url).database
    admin = admin_engine()

    def allow(allowed: bool) -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )
            if not allowed:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    def cut() -> None:
        allow(False)
        result = newsbot(harness, "healthcheck")
        assert result.returncode == 1 and "store not usable" in result.stdout, result.stdout

    try:
        gone = ("unavailable", "the database cannot be reached")
        break_and_mend(harness, pg_bot, gone, cut, lambda: allow(True))
    finally:
        allow(True)
        admin.dispose()
