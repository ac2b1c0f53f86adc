"""The chaos run: ``newsbot run`` killed with SIGKILL at random moments under load.

Feeds keep publishing (each poll of a feed reveals a few more items), several
chats subscribe, the fake Bot API answers each send 30 ms late so that sends are
in flight, and the bot is killed, process group and workers included, at random
points: a few sends into delivery, a few feed polls into a cycle, or during
start-up. Each kill point is an event of the fakes, drawn at random, with a
bound on how long it may take to come. After the last kill the bot runs until
every chat has every item, then stops. What it reports, per chat, is what a
subscriber would see: alerts lost (never delivered) and duplicates (delivered
more than once). The outbox allows at most one duplicate per chat per kill
(README, "Delivery guarantees").

Shared by ``tests/app/test_chaos.py`` (asserts) and ``bench/chaos.py`` (prints).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.store import Store
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.web import RSS, LoopbackSite, RequestInfo
from tests.helpers.harness import Harness, rss
from tests.helpers.process import Bot

_VOCABULARY = (
    "grain wheat rail border budget council steppe oil pipeline tender court vote minister "
    "drought harvest mine copper uranium port freight loan bank tariff census reform school "
    "hospital river dam bridge airport winter protest union strike festival museum theatre "
    "satellite launch summit treaty envoy embassy customs visa fuel price market index bond"
)
WORDS = tuple(_VOCABULARY.split())
SEND_LATENCY = 0.03  # seconds the fake Bot API takes to answer a send
STEP = 3  # items each poll of a feed reveals
ROUND_LIMIT = 20.0  # seconds a kill point may take to come before the kill happens anyway


@dataclass
class ChaosReport:
    """What subscribers saw: per chat, alerts delivered, lost, and duplicated."""

    kills: int
    items: int
    seconds: float
    points: Counter[str] = field(default_factory=Counter)  # where the kills fell
    delivered: dict[int, Counter[str]] = field(default_factory=dict)

    def lost(self, chat: int, expected: set[str]) -> int:
        return len(expected - set(self.delivered.get(chat, Counter())))

    def duplicates(self, chat: int) -> int:
        return sum(n - 1 for n in self.delivered.get(chat, Counter()).values() if n > 1)


class GrowingFeeds:
    """``feeds`` RSS feeds of ``per_feed`` distinct on-topic items, ``STEP`` more per poll."""

    def __init__(self, site: LoopbackSite, feeds: int, per_feed: int, rng: random.Random) -> None:
        self.site, self.lock = site, threading.Lock()
        self.items = {f: [self._item(f, n, rng) for n in range(per_feed)] for f in range(feeds)}
        self.shown = dict.fromkeys(self.items, 0)
        for f in self.items:
            site.route_fn(f"/feed/{f}.xml", self._responder(f))

    def _item(self, feed: int, n: int, rng: random.Random) -> dict:
        words = " ".join(rng.choice(WORDS) for _ in range(25))
        return {
            "title": f"Kazakhstan {feed}-{n}: {' '.join(rng.sample(WORDS, 4))}",
            "link": self.site.url(f"/gone/{feed}/{n}"),  # 404: the feed's own text is used
            "description": f"Kazakhstan: {words}.",
            "date": datetime.now(UTC),
        }

    def _responder(self, feed: int) -> Callable[[RequestInfo], tuple[int, dict[str, str], str]]:
        def respond(_: RequestInfo) -> tuple[int, dict[str, str], str]:
            with self.lock:
                self.shown[feed] = min(len(self.items[feed]), self.shown[feed] + STEP)
                shown = self.items[feed][: self.shown[feed]]
            return 200, {"Content-Type": RSS}, rss(list(reversed(shown)))

        return respond

    @property
    def markers(self) -> set[str]:
        """What identifies each item in an alert's text."""
        return {
            f"Kazakhstan {f}-{n}:" for f, items in self.items.items() for n in range(len(items))
        }


def delivered(
    api: FakeBotAPI, chats: tuple[int, ...], markers: set[str]
) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {chat: Counter() for chat in chats}
    for message in api.sent:
        if message["chat_id"] in out:
            head = message["text"].split("</a>", 1)[0]
            out[message["chat_id"]].update(m for m in markers if m in head)
    return out


def _kill_point(
    rng: random.Random, api: FakeBotAPI, site: LoopbackSite
) -> tuple[str, Callable[[], bool]]:
    kind = rng.choice(("delivery", "cycle", "start-up"))
    if kind == "delivery":
        target = len(api.calls("sendMessage")) + rng.randint(1, 8)
        return kind, lambda: len(api.calls("sendMessage")) >= target
    if kind == "cycle":
        target = len(site.requests) + rng.randint(1, 6)
        return kind, lambda: len(site.requests) >= target
    target = len(api.calls("getMe")) + 1
    return kind, lambda: len(api.calls("getMe")) >= target


def _wait(check: Callable[[], bool], bot: Bot, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not check() and time.monotonic() < deadline and bot.proc and bot.proc.poll() is None:
        time.sleep(0.01)  # polling the fakes' counters for the chosen kill point


def run_chaos(
    root: Path,
    *,
    kills: int = 20,
    feeds: int = 4,
    per_feed: int = 25,
    chats: tuple[int, ...] = (101, 102, 103, 104),
    seed: int = 17,
    finish_within: float = 180.0,
) -> tuple[ChaosReport, set[str]]:
    """Run it under ``root``; return the report and the markers every chat should get."""
    rng = random.Random(seed)
    start = time.monotonic()
    with LoopbackSite() as site, FakeBotAPI() as api:
        api.delay("sendMessage", SEND_LATENCY)
        harness = Harness(root, site, api)
        growing = GrowingFeeds(site, feeds, per_feed, rng)
        harness.write(
            [f"/feed/{f}.xml" for f in range(feeds)],
            alerts={"first_poll_max_age_hours": 24},
            extract={"workers": 1},
        )
        store = Store.open(harness.settings().db_url)
        for chat in chats:
            store.subs.subscribe(chat, "kazakhstan")
        store.close()
        report = ChaosReport(kills=kills, items=len(growing.markers), seconds=0.0)
        bot = Bot(harness)
        try:
            for _ in range(kills):
                bot.start()
                kind, point = _kill_point(rng, api, site)
                _wait(point, bot, ROUND_LIMIT)
                report.points[kind] += 1
                bot.stop(signal.SIGKILL)
            bot.start()
            markers = growing.markers
            everyone = lambda: all(  # noqa: E731
                set(got) >= markers for got in delivered(api, chats, markers).values()
            )
            _wait(everyone, bot, finish_within)
            bot.stop(signal.SIGTERM)
        finally:
            bot.cleanup()
        report.delivered = delivered(api, chats, markers)
        report.seconds = time.monotonic() - start
        return report, markers
