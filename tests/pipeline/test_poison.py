"""Poison is contained to its item: the feed and the rest of its items go on.

Found in issue 17: on PostgreSQL a ``&#0;`` in a title raised on every cycle, so
the feed was marked failing and backed off for up to 6 h; ``&#xD800;`` made
feedparser raise, failing the whole feed. Such characters are now cleaned where
the feed is read; a value the store still refuses costs its own item only: it is
tried on three polls, then skipped with the reason kept.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.app.service import Service
from bot.store import Store
from bot.store.items import ItemStore
from tests.helpers.harness import Harness, rss


def item(site, n: int, title: str, link: str | None = None) -> dict:
    return {"title": title, "link": link or site.url(f"/gone/{n}"), "date": datetime.now(UTC)}


async def console_cycle(harness: Harness) -> tuple[int, dict[str, str]]:
    async with Service(harness.settings(), console=True) as service:
        report = await service.once()
        return service.deliverer.sender.count, report.failed


def feed_health(harness: Harness) -> list[tuple[int, int]]:
    store = Store.open(harness.settings().db_url)
    try:
        return [(h.consecutive_failures, h.items_seen) for h in store.feeds.health()]
    finally:
        store.close()


def poisoned_feed(harness: Harness) -> None:
    site = harness.site
    long_link = site.url("/a/" + "x" * 3000)  # past the articles.url column (2048)
    items = [
        item(site, 1, "Tokayev &#0; signs the budget"),
        item(site, 2, "Kazakhstan &#xD800; and the CSTO"),
        item(site, 3, "Kazakhstan grain exports rise", long_link),
        item(site, 4, "Tokayev visits Berlin"),
    ]
    site.route("/f.xml", rss(items))


async def test_poison_characters_and_values_cost_nothing_on_postgres(
    harness: Harness, pg_url: str
) -> None:
    poisoned_feed(harness)
    harness.write(["/f.xml"], database_url=pg_url, alerts={"first_poll_max_age_hours": 24})
    sent, failed = await console_cycle(harness)
    assert failed == {}
    assert sent == 4, "every item alerted, poisoned or not"
    assert feed_health(harness) == [(0, 4)]
    store = Store.open(pg_url)
    with store.engine.connect() as conn:
        titles = sorted(conn.scalars(sa.text("SELECT title FROM articles")))
    store.close()
    assert "Tokayev \ufffd signs the budget" in titles


async def test_the_same_poison_costs_nothing_on_sqlite(harness: Harness) -> None:
    poisoned_feed(harness)
    harness.write(["/f.xml"], alerts={"first_poll_max_age_hours": 24})
    sent, failed = await console_cycle(harness)
    assert (sent, failed) == (4, {})


async def test_an_item_the_store_refuses_is_skipped_after_three_polls(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = harness.site
    site.route("/f.xml", rss([item(site, 1, "Tokayev refused"), item(site, 2, "Tokayev fine")]))
    harness.write(["/f.xml"], alerts={"first_poll_max_age_hours": 24})
    real = ItemStore.record_article

    def refuse_one(self, feed_id, entry, *args, **kwargs):
        if "refused" in entry.title:  # as PostgreSQL refuses a value it cannot store
            raise sa.exc.DataError("INSERT …", {}, ValueError("value out of range"))
        return real(self, feed_id, entry, *args, **kwargs)

    monkeypatch.setattr(ItemStore, "record_article", refuse_one)
    assert await console_cycle(harness) == (1, {}), "the other item alerted; the feed is fine"
    assert await console_cycle(harness) == (0, {})
    assert feed_health(harness) == [(0, 1)], "not seen yet: it is tried again"
    assert await console_cycle(harness) == (0, {})
    assert feed_health(harness) == [(0, 2)], "skipped on the third poll"
    store = Store.open(harness.settings().db_url)
    [problem] = store.problems.all()
    store.close()
    assert (problem.state, problem.attempts) == ("given_up", 3)
    assert "could not be stored: DataError" in problem.reason
    assert await console_cycle(harness) == (0, {})
