"""Digests: a window and a count, items once under the chat's strongest topic, clean parts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.core.message import MESSAGE_LIMIT
from bot.delivery.digest import QUIET, next_due, render_digest
from bot.delivery.render import View
from bot.store.digests import DigestChat, HeldAlert
from bot.store.outbox import Outlet
from tests.fakes.telegram_html import html_to_text

NAMES = {t: t.title() for t in ("kazakhstan", "csto", "tokayev", "unrest", "uzbekistan")}
NOW = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=1)


def held(n: int) -> HeldAlert:
    order = list(NAMES)
    strongest = order[n % 5]
    topics = (strongest, *(t for t in order if t != strongest))[: 1 + n % 3]
    return HeldAlert(
        n,
        f"Title {n}: " + "a rather long headline that goes on " * (1 + n % 9),
        f"https://n.test/{n}",
        f"Outlet {n % 7}",
        topics,
        published=SINCE + timedelta(seconds=15 * n),
        held_at=SINCE + timedelta(seconds=15 * n + 5),
        snippet=f"Snippet {n} & <more> " + "words " * 40,
        also=tuple(Outlet(f"Other {k}", f"https://o.test/{n}/{k}") for k in range(n % 5)),
    )


def test_200_alerts_across_5_topics_split_cleanly_each_once_under_its_strongest() -> None:
    items = [held(n) for n in range(200)]
    view = View(frozenset(NAMES) - {"uzbekistan"}, "en", "Europe/Berlin")
    parts = render_digest(items, NAMES, view, since=SINCE, now=NOW)
    assert len(parts) > 3
    shown = [html_to_text(p) for p in parts]  # each valid Telegram HTML
    assert all(len(s.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT for s in shown)
    total = len(parts)
    for number, part in enumerate(parts, 1):
        head = part.split("\n")[0]
        assert head == (
            f"<b>📰 Digest</b> · Mar 5, 09:00 CET – 10:00 CET · 200 alerts · "
            f"part {number} of {total}"
        )
        assert part.split("\n")[2].startswith("<b>"), "every part names the topic it is in"
    joined = "\n".join(parts)
    for item in items:
        assert joined.count(f'href="{item.url}"') == 1, "each item once"
    sections = re.split(r"\n\n<b>(\w+)</b>(?: \(continued\))?\n", "\n" + joined)
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        for url in re.findall(r'href="(https://n\.test/\d+)"', body):
            item = items[int(url.rsplit("/", 1)[1])]
            own = [t for t in item.topics if t in view.topics] or list(item.topics)
            assert NAMES[own[0]] == name, "under its strongest topic the chat follows"
    assert "(continued)" in joined
    assert "<b>Uzbekistan</b>" in joined, "an item only of topics it left keeps its own"
    first = html_to_text(parts[0]).split("\n")[3]
    assert re.match(r"• 09:00 Title 0: a rather long headline that goes on — Outlet 0$", first)
    assert "Snippet 0 & <more>" in html_to_text(parts[0])
    assert '<a href="https://o.test/3/2">Other 2</a>' in joined
    long_title = html_to_text(joined).split("Title 8: ")[1].split(" — ")[0]
    assert long_title.endswith("…") and not long_title[:-1].endswith(" ")


def test_after_quiet_hours_the_header_says_so_in_the_chats_language() -> None:
    [part] = render_digest(
        [held(1), held(2)], NAMES, View(None, "de"), since=SINCE, now=NOW, kind=QUIET
    )
    assert part.startswith(
        "<b>🌙 Während Sie weg waren</b> · 5. März, 08:00 UTC – 09:00 UTC · 2 Meldungen\n"
    )


def test_a_daily_digest_is_due_at_the_chats_own_time() -> None:
    chat = DigestChat(
        1, "daily", "08:30", datetime(2024, 3, 5, 6, 0, tzinfo=UTC), timezone="Asia/Almaty"
    )
    assert next_due(chat) == datetime(2024, 3, 6, 3, 30, tzinfo=UTC)  # 08:30 at UTC+5
    hourly = DigestChat(1, "hourly", None, NOW)
    assert next_due(hourly) == NOW + timedelta(hours=1)


def test_an_item_from_another_day_shows_its_day_in_the_chats_language() -> None:
    late = HeldAlert(
        1,
        "Late",
        "https://n.test/late",
        "Feed",
        ("csto",),
        published=datetime(2024, 3, 4, 22, 50, tzinfo=UTC),
    )
    [en] = render_digest([late], NAMES, View(None, "en", "Europe/Berlin"), now=NOW)
    [ru] = render_digest([late], NAMES, View(None, "ru", "Europe/Berlin"), now=NOW)
    assert '• Mar 4, 23:50 <a href="https://n.test/late">Late</a> — Feed' in en
    assert '• 4 мар., 23:50 <a href="https://n.test/late">Late</a> — Feed' in ru
