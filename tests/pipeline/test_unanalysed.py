"""A page that cannot be analysed costs its own item, never its neighbours', never silently.

Found in issue 17: with a 4 MB page of ``<br>`` in the feed (about 80 s of
trafilatura), 0 of 3 innocent articles alerted, against 3 of 3 without it: the
timeout counted queue time, the stuck job kept its worker, and the items fell
back to feed text that matched nothing and were recorded as seen. Now the stuck
job alone is killed at its deadline; its item is tried again on the next poll,
and a page that killed its worker twice is quarantined and the item recorded,
with the reason shown in ``/feeds`` and counted in the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.app.service import Service
from bot.store import Store
from tests.fakes.web import HTML, RequestInfo
from tests.helpers.chat import say
from tests.helpers.harness import Harness, rss

CHAT, ADMIN = 4242, 700
INNOCENT = [
    [
        "Kazakhstan's parliament passed the budget for the coming year.",
        "Deputies in Astana debated spending on roads and schools for a week before the vote.",
    ],
    [
        "Drought has hit wheat farms across northern Kazakhstan this summer.",
        "Farmers in Kostanay say the harvest may fall by a third; grain prices are rising.",
    ],
    [
        "Kazakhstan opened a new railway line towards the Chinese border.",
        "The line shortens the freight route by several hundred kilometres, officials said.",
    ],
]


def article(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p} {p}</p>" for p in paragraphs * 3)
    head = "<head><title>News</title></head>"
    return f"<html>{head}<body><article>{body}</article></body></html>".encode()


def slow_page(body: bytes) -> Callable[[RequestInfo], tuple[int, dict[str, str], bytes]]:
    """The page, a little late: its job queues behind the hostile one, as in the issue."""

    def respond(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.5)  # the fake server's latency, not a test wait
        return 200, {"Content-Type": HTML}, body

    return respond


def alerts_to(harness: Harness, chat: int = CHAT) -> list[str]:
    return [
        m["text"] for m in harness.telegram.sent if m["chat_id"] == chat and "<a href=" in m["text"]
    ]


def problems(harness: Harness) -> list[tuple[str, int, int]]:
    store = Store.open(harness.settings().db_url)
    try:
        return [(p.state, p.attempts, p.kills) for p in store.problems.all()]
    finally:
        store.close()


@pytest.mark.slow  # the hostile page runs into its 3 s deadline twice
async def test_a_page_that_stalls_its_worker_costs_only_its_own_item(harness: Harness) -> None:
    site, now = harness.site, datetime.now(UTC)
    items = [{"title": "Item 0", "link": site.url("/hostile"), "date": now}]
    items += [
        {"title": f"Item {i}", "link": site.url(f"/page/{i}"), "date": now} for i in (1, 2, 3)
    ]
    site.route("/feed.xml", rss(items))
    site.route(
        "/hostile",
        b"<html><body><p>Kazakhstan.</p>" + b"<br>" * 250_000 + b"</body></html>",
        content_type=HTML,
    )
    for i, paragraphs in enumerate(INNOCENT, 1):
        site.route_fn(f"/page/{i}", slow_page(article(paragraphs)))
    harness.write(
        ["/feed.xml"],
        extract={"workers": 1, "timeout_seconds": 3},
        alerts={"first_poll_max_age_hours": 24},
        telegram={"admins": [ADMIN]},
    )
    store = Store.open(harness.settings().db_url)
    store.subs.subscribe(CHAT, "kazakhstan")
    store.close()

    async with harness.running() as service:
        await harness.wait_sent(lambda api: len(alerts_to(harness)) >= 3, 30)
        await site.wait_for_async(lambda s: s.hits("/hostile") >= 2, 30)
        await service.pipeline.wait_polls(service.pipeline.polls + 2)
        health = (await say(harness, ADMIN, "/feeds"))["text"]
        metrics = service.metrics.render().decode()

    texts = alerts_to(harness)
    assert len(texts) == 3, texts
    assert site.hits("/hostile") == 2, "quarantined after killing its worker twice, not retried"
    assert problems(harness) == [("quarantined", 2, 2)]
    assert "1 item recorded without its page" in health, health
    assert "quarantined" in health and "took over 3 s" in health, health
    assert 'newsbot_items_unanalysed_total{outcome="retry"} 1.0' in metrics
    assert 'newsbot_items_unanalysed_total{outcome="quarantined"} 1.0' in metrics


async def console_cycle(harness: Harness) -> int:
    """One ``once`` in console mode; how many alerts it printed."""
    async with Service(harness.settings(), console=True) as service:
        await service.once()
        return service.deliverer.sender.count


async def test_an_unreachable_page_is_retried_three_times_then_recorded_with_why(
    harness: Harness,
) -> None:
    site = harness.site
    item = {"title": "Item 1", "link": site.url("/down"), "date": datetime.now(UTC)}
    site.route("/feed.xml", rss([item]), etag='"v1"')
    site.route("/down", "try later", status=503, content_type="text/plain")
    harness.write(["/feed.xml"], alerts={"first_poll_max_age_hours": 24})

    for attempt in (1, 2):
        assert await console_cycle(harness) == 0
        assert problems(harness) == [("retrying", attempt, 0)]
        assert "if-none-match" not in feed_headers(harness)[-1], "validators wait for the item"
    assert await console_cycle(harness) == 0
    assert problems(harness) == [("given_up", 3, 0)], "recorded as seen, with the reason"
    await console_cycle(harness)
    assert feed_headers(harness)[-1].get("if-none-match") == '"v1"'
    assert site.hits("/down") == 3


async def test_an_item_whose_feed_text_matches_is_alerted_without_waiting(
    harness: Harness,
) -> None:
    site = harness.site
    item = {"title": "Kazakhstan votes", "link": site.url("/down"), "date": datetime.now(UTC)}
    site.route("/feed.xml", rss([item]))
    site.route("/down", "try later", status=503, content_type="text/plain")
    harness.write(["/feed.xml"], alerts={"first_poll_max_age_hours": 24})
    assert await console_cycle(harness) == 1
    assert problems(harness) == [("given_up", 1, 0)]
    assert await console_cycle(harness) == 0


def feed_headers(harness: Harness) -> list[dict[str, str]]:
    return [headers for path, headers in harness.site.requests if path == "/feed.xml"]
