"""Digests through the real client: 200 alerts over 5 topics, and quiet hours holding alerts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import yaml

from bot.core.clock import utcnow
from bot.core.message import MESSAGE_LIMIT
from bot.core.models import Article, Hit, TopicMatch
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.telegram_html import html_to_text
from tests.helpers.chat import record, say
from tests.helpers.harness import Harness, rss

USER = 540


def five_topics(h: Harness) -> None:
    topics = [
        {"id": f"t{n}", "name": f"Topic {n}", "description": f"T{n}", "any": [f"zzword{n}"]}
        for n in range(1, 6)
    ]
    (h.config / "rules.yaml").write_text(yaml.safe_dump({"version": 1, "topics": topics}))


def article(n: int, topics: list[int]) -> tuple[Article, list[TopicMatch]]:
    body = f"Lead sentence of story {n}. " + " ".join(
        f"Here zzword{t} appears {k} times." for t in topics for k in range(1 + (t + n) % 3)
    )
    found = []
    for t in topics:
        word = f"zzword{t}"
        starts = [i for i in range(len(body)) if body.startswith(word, i)]
        found.append(
            TopicMatch(
                f"t{t}", f"Topic {t}", tuple(Hit(word, "body", s, s + 7, word) for s in starts)
            )
        )
    title = f"Story {n}: " + "a headline of some length " * (1 + n % 6)
    published = datetime(2024, 3, 5, 8, 0, tzinfo=UTC) + timedelta(seconds=17 * n)
    return Article(f"https://n.test/{n}", title, "", body, f"Outlet {n % 4}", published), found


def digests(api: FakeBotAPI) -> list[dict]:
    return [m for m in api.sent if m["chat_id"] == USER and "Digest" in m["text"]]


async def test_an_hourly_digest_of_200_alerts_across_5_topics_is_split_cleanly(
    harness: Harness,
) -> None:
    five_topics(harness)
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    api = harness.telegram
    async with harness.running() as service:
        await say(harness, USER, "/subscribe t1 t2 t3 t4 t5")
        await say(harness, USER, "/mode hourly")
        for n in range(200):
            topics = sorted({1 + n % 5, 1 + (n * 3) % 5})
            assert record(service.store, *article(n, topics))
        await service.deliverer.deliver_due()
        assert service.store.outbox.counts().get("held") == 200
        assert service.digester.run_due(now=utcnow() + timedelta(hours=1, seconds=1)) == 1
        await service.deliverer.deliver_due()
        parts = digests(api)
        assert service.store.outbox.counts().get("digested") == 200
    assert len(parts) > 3
    total = len(parts)
    for number, part in enumerate(parts, 1):
        shown = html_to_text(part["text"])  # the fake refuses invalid HTML, so this held
        assert len(shown.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
        assert shown.split("\n")[0].endswith(f" · 200 alerts · part {number} of {total}")
        assert part["text"].split("\n")[2].startswith("<b>Topic ")
    joined = "\n".join(p["text"] for p in parts)
    for n in range(200):
        assert joined.count(f'href="https://n.test/{n}"') == 1, "every alert once"
    for t in range(1, 6):
        assert f"\n<b>Topic {t}</b>\n" in joined


async def test_quiet_hours_hold_alerts_and_release_them_as_one_digest(harness: Harness) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    api = harness.telegram
    local = utcnow().astimezone(ZoneInfo("Europe/Berlin"))
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    async with harness.running() as service:
        await say(harness, USER, "/subscribe kazakhstan")
        await say(harness, USER, "/timezone Europe/Berlin")
        await say(harness, USER, f"/quiet {start:%H:%M}-{end:%H:%M}")
        body = "Erste Zeile. In Kasachstan wurde gewählt."
        hit = Hit(
            "Kasach*", "body", body.index("Kasachstan"), body.index("Kasachstan") + 10, "Kasachstan"
        )
        found = [TopicMatch("kazakhstan", "Kazakhstan", (hit,))]
        for n in range(3):
            a = Article(f"https://q.test/{n}", f"Quiet story {n}", "", body, "Feed", None)
            assert record(service.store, a, found)
        assert await service.deliverer.deliver_due() == 0
        assert service.store.outbox.counts() == {"held": 3}, "held during quiet hours"
        assert service.digester.run_due() == 0, "still quiet"
        after = utcnow() + timedelta(hours=2)
        assert service.digester.run_due(now=after) == 1
        assert await service.deliverer.deliver_due() == 1
        assert service.store.outbox.counts() == {"digested": 3, "sent": 1}
    [digest] = [m for m in api.sent if "While you were away" in m["text"]]
    head, *lines = html_to_text(digest["text"]).split("\n")
    assert head.startswith("🌙 While you were away · ") and head.endswith(" · 3 alerts")
    assert lines[1] == "Kazakhstan"
    # "• 22:00 Title", or with the date first when the digest goes out on another day
    # (late evening in Berlin: two hours later is tomorrow).
    items = [re.fullmatch(r"• (?:.+ )?\d{2}:\d{2} (.+)", x) for x in lines if x.startswith("• ")]
    assert [m.group(1) for m in items if m] == [f"Quiet story {n} — Feed" for n in range(3)]
    assert "  Erste Zeile. In Kasachstan wurde gewählt." in lines
