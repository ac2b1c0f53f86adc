"""Delivery through the real PTB client: flood waits, blocked chats, outages, crashes.

Alerts are put in the outbox the way the pipeline does (``record_article``); the
running service's scheduled outbox job delivers them to the fake Bot API.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

import pytest

from bot.app.service import Service
from bot.config.settings import AlertSettings
from bot.core.message import Keyboard
from bot.delivery.drain import SEND_LANES, Deliverer
from bot.store import Store
from bot.store.outbox import Outbox
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers.chat import enqueue
from tests.helpers.harness import Harness, rss


def sent_texts(api: FakeBotAPI, chat: int) -> Counter:
    return Counter(m["text"] for m in api.sent if m["chat_id"] == chat and "Story" in m["text"])


@pytest.fixture
def quiet_feed(harness: Harness) -> Harness:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    return harness


@pytest.mark.slow  # real time: two 1 s flood waits
async def test_flood_wait_is_honoured_and_every_alert_arrives_once(quiet_feed: Harness) -> None:
    api = quiet_feed.telegram
    api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=2)
    async with quiet_feed.running() as service:
        texts = enqueue(service.store, [11, 12], 4)
        await quiet_feed.wait_sent(lambda a: len(a.sent) >= 8)
    for chat in (11, 12):
        assert sent_texts(api, chat) == Counter({t: 1 for t in texts})
    assert len(api.calls("sendMessage")) == 8 + 2, "no request is wasted during a flood wait"


async def test_blocked_chat_is_deactivated_and_others_still_served(quiet_feed: Harness) -> None:
    api = quiet_feed.telegram
    api.set_blocked(21)
    async with quiet_feed.running() as service:
        service.store.subs.subscribe(21, "kazakhstan")
        service.store.subs.subscribe(22, "kazakhstan")
        texts = enqueue(service.store, [21, 22], 3)
        await quiet_feed.wait_sent(lambda a: len(sent_texts(a, 22)) == 3)
        await service.deliverer.deliver_due()
        assert service.store.subs.subscribers(["kazakhstan"]) == {22: {"kazakhstan"}}
        assert service.store.outbox.counts().get("dropped") == 3
    assert sent_texts(api, 22) == Counter({t: 1 for t in texts})
    assert len([p for p in api.calls("sendMessage") if p["chat_id"] == 21]) == 1


@pytest.mark.slow  # real time: the deliverer's back-off while the API is down
async def test_bot_api_down_for_a_while_then_back(quiet_feed: Harness) -> None:
    api = quiet_feed.telegram
    async with quiet_feed.running() as service:
        api.set_down(True)
        texts = enqueue(service.store, [31], 5)
        await quiet_feed.wait_sent(lambda a: len(a.calls("sendMessage")) >= 2)
        assert service.store.outbox.counts().get("pending") == 5
        api.set_down(False)
        await quiet_feed.wait_sent(lambda a: len(sent_texts(a, 31)) == 5)
    assert sent_texts(api, 31) == Counter({t: 1 for t in texts})


async def test_crash_between_send_and_record_resends_only_that_alert(
    quiet_feed: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = quiet_feed.telegram
    real = Outbox.mark_sent
    crashed: list[int] = []

    def crash_on_first(self: Outbox, alert_id: int, message_id: int) -> None:
        # Until the process "dies", no "sent" can be recorded (as when it is killed).
        crashed.append(alert_id)
        raise RuntimeError("simulated crash after Telegram accepted the message")

    store = Store.open(quiet_feed.settings().db_url)
    store.feeds.sync([(quiet_feed.site.url("/f.xml"), "Feed", None, None)])
    texts = enqueue(store, [41], 3)
    store.close()
    monkeypatch.setattr(Outbox, "mark_sent", crash_on_first)
    async with Service(quiet_feed.settings()) as service:  # opened, not yet serving
        await service.deliverer.deliver_due()
        assert list(service.deliverer.unrecorded) == crashed[:1], "kept, nothing more sent"
    assert len(api.sent) == 1  # the process ends with it unrecorded, as in a crash
    monkeypatch.setattr(Outbox, "mark_sent", real)
    async with quiet_feed.running():  # the restart
        await quiet_feed.wait_sent(lambda a: sum(sent_texts(a, 41).values()) >= 4)
    counts = sent_texts(api, 41)
    assert set(counts) == set(texts), "nothing lost"
    assert sorted(counts.values()) == [1, 1, 2], "only the in-flight alert is sent twice"


class RecordingSender:
    def __init__(self) -> None:
        self.times: list[tuple[int, float]] = []

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        self.times.append((chat_id, time.monotonic()))
        return len(self.times)


async def test_per_chat_pacing_and_round_robin(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://x.test/feed", "Feed", None, None)])
    enqueue(store, [51], 3)
    enqueue(store, [52], 1)
    sender = RecordingSender()
    deliverer = Deliverer(store, sender, AlertSettings(per_chat_interval_seconds=0.2))
    assert await deliverer.deliver_due() == 4
    order = [chat for chat, _ in sender.times]
    assert order[:2] == [51, 52], "a busy chat does not hold back the others"
    t51 = [t for chat, t in sender.times if chat == 51]
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(t51))
    assert await deliverer.deliver_due() == 0, "nothing is sent twice"
    await asyncio.sleep(0)


class GatedSender:
    """Holds every send until released; records which chats are in flight together."""

    def __init__(self) -> None:
        self.in_flight: list[int] = []
        self.peak: list[int] = []
        self.sent: list[tuple[int, str]] = []
        self.release = asyncio.Event()
        self.changed = asyncio.Condition()

    async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
        async with self.changed:
            self.in_flight.append(chat_id)
            if len(self.in_flight) > len(self.peak):
                self.peak = list(self.in_flight)
            self.changed.notify_all()
        await self.release.wait()
        self.in_flight.remove(chat_id)
        self.sent.append((chat_id, text))
        return len(self.sent)


async def test_slow_answers_hold_up_only_their_own_chat(tmp_path) -> None:
    """Up to SEND_LANES chats are sent to at once; one chat's alerts stay in order."""
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://x.test/feed", "Feed", None, None)])
    chats = list(range(61, 61 + SEND_LANES + 2))
    texts = enqueue(store, chats, 2)
    sender = GatedSender()
    deliverer = Deliverer(store, sender, AlertSettings(per_chat_interval_seconds=0))
    round_ = asyncio.create_task(deliverer.deliver_due())
    async with sender.changed:
        await asyncio.wait_for(
            sender.changed.wait_for(lambda: len(sender.in_flight) == SEND_LANES), 10
        )
    assert len(set(sender.in_flight)) == SEND_LANES, "one send per chat at a time"
    sender.release.set()
    assert await asyncio.wait_for(round_, 10) == 2 * len(chats)
    assert len(sender.peak) == SEND_LANES, "never more than SEND_LANES in flight"
    for chat in chats:
        assert [t for c, t in sender.sent if c == chat] == texts, "each chat in order"


def test_configured_channels_subscribe_to_exactly_their_topics(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.subs.subscribe(-1001, "tokayev")
    store.subs.sync_channels({-1001: ("kazakhstan", "csto")})
    assert store.subs.topics_of(-1001) == ["csto", "kazakhstan"]
    assert store.subs.subscribers(["csto"]) == {-1001: {"csto"}}


async def test_a_group_gets_at_most_20_in_any_minute_and_private_chats_1_a_second(
    tmp_path,
) -> None:
    """Pacing on a simulated clock: a burst of 20 to a group, the 21st a minute after
    the first; a private chat one per second; neither holds up the other."""
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://x.test/feed", "Feed", None, None)])
    enqueue(store, [-100123, 71], 25)
    now = [1000.0]

    async def sleep(seconds: float) -> None:  # virtual time: lanes sleeping at once overlap
        target = now[0] + seconds
        await asyncio.sleep(0)
        now[0] = max(now[0], target)

    class Clocked(RecordingSender):
        async def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> int:
            self.times.append((chat_id, now[0]))
            return len(self.times)

    sender = Clocked()
    deliverer = Deliverer(store, sender, AlertSettings(), clock=lambda: now[0], sleep=sleep)
    assert await deliverer.deliver_due() == 50
    group = [t for chat, t in sender.times if chat < 0]
    private = [t for chat, t in sender.times if chat > 0]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(private))
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(group)), "1/s per chat, groups too"
    assert all(b - a >= 60.0 for a, b in zip(group[:-20], group[20:], strict=True)), (
        "never 21 in a minute"
    )
    assert group[19] - group[0] < 25, "but a burst of 20 goes out at once"
