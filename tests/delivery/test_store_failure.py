"""A store that stops taking writes never makes a duplicate, and says so.

Found in issue 17 with the real process: Telegram accepted a message, recording
it as sent failed ("database or disk is full"), and the same alert went out
again every second, 29 copies per chat in 30 s. Now the accepted send is kept in
memory, nothing more is sent until the store takes a write, and the operator
hears of it: a log line, a notice to the admins, ``/healthz`` 503. Here the
store turns read-only (SQLite's ``query_only``, the real "attempt to write a
readonly database"); tests/app/test_store_process.py fills a real disk and cuts
a real PostgreSQL database under the running process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from bot.app.service import Service
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers.chat import enqueue
from tests.helpers.harness import Harness, rss

ADMIN, CHATS = 900, [61, 62]


def stories(api: FakeBotAPI) -> Counter:
    return Counter((m["chat_id"], m["text"]) for m in api.sent if "Story" in m["text"])


def notices(api: FakeBotAPI) -> list[str]:
    return [m["text"] for m in api.sent if m["chat_id"] == ADMIN]


class ReadOnly:
    """Makes every new connection of ``engine`` read-only until ``off()``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _connect(self, dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA query_only = 1")  # type: ignore[attr-defined]

    def on(self) -> None:
        sa.event.listen(self.engine, "connect", self._connect)
        self.engine.dispose()  # pooled connections go; new ones are read-only

    def off(self) -> None:
        sa.event.remove(self.engine, "connect", self._connect)
        self.engine.dispose()


async def healthz(service: Service) -> httpx.Response:
    assert service.metrics_server is not None
    url = f"{service.metrics_server.url}/healthz"

    def get() -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=10) as client:
            return client.get(url)

    return await asyncio.to_thread(get)


@pytest.fixture
def quiet(harness: Harness) -> Iterator[Harness]:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], metrics_port=0, telegram={"admins": [ADMIN]})
    yield harness


async def test_a_read_only_store_stops_sending_repeats_nothing_and_says_so(
    quiet: Harness,
) -> None:
    api = quiet.telegram
    api.hold("sendMessage")
    async with quiet.running() as service:
        texts = enqueue(service.store, CHATS, 3)
        await quiet.wait_sent(lambda a: a.waiting("sendMessage") == len(CHATS))  # in flight
        read_only = ReadOnly(service.store.engine)
        read_only.on()
        api.release("sendMessage")  # Telegram accepts; recording "sent" fails
        await quiet.wait_sent(lambda a: len(notices(a)) == 1)
        assert "read-only" in notices(api)[0] and "paused" in notices(api)[0]
        polls = len(api.calls("getUpdates"))
        await quiet.wait_sent(lambda a: len(a.calls("getUpdates")) >= polls + 3)  # seconds pass
        assert sorted(stories(api).values()) == [1, 1], "one send per chat, never repeated"
        unhealthy = await healthz(service)
        assert unhealthy.status_code == 503 and "read-only" in unhealthy.text

        read_only.off()
        await quiet.wait_sent(lambda a: len(notices(a)) == 2)
        assert "takes writes again" in notices(api)[1]
        await quiet.wait_sent(lambda a: sum(stories(a).values()) == len(CHATS) * 3)
        await asyncio.sleep(0)
        for _ in range(100):  # the last "sent" is recorded just after its answer
            if service.store.outbox.counts() == {"sent": 6}:
                break
            await asyncio.sleep(0.05)  # bounded poll of the store, not a fixed wait
        assert service.store.outbox.counts() == {"sent": 6}
    assert stories(api) == Counter({(c, t): 1 for c in CHATS for t in texts}), "each exactly once"
