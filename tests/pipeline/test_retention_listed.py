"""Retention never re-alerts: an item its feed still lists is kept, whatever its age.

Found in issue 17: ``seen_at`` was set once and never refreshed, so the daily
prune forgot items older than ``retention_days`` that the feed still listed,
and the next full poll alerted them again. Each full poll now refreshes what it
lists, and a feed answering 304 for months keeps what it listed last.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.app.service import Service
from bot.store import Store
from bot.store.schema import feeds, items
from tests.helpers.harness import Harness, rss

OLD = {"title": "Tokayev met the CSTO council", "link": "https://news.example/1"}
NEW = {"title": "Kazakhstan sets its grain quota", "link": "https://news.example/2"}


async def console_cycle(harness: Harness) -> int:
    async with Service(harness.settings(), console=True) as service:
        await service.once()
        return service.deliverer.sender.count


def age(harness: Harness, days: float) -> dict[str, int]:
    """Move the store's history ``days`` into the past, then run the daily prune."""
    store = Store.open(harness.settings().db_url)
    try:
        shift = timedelta(days=days)
        with store.engine.begin() as conn:
            for row in conn.execute(sa.select(items.c.id, items.c.seen_at)):
                conn.execute(
                    items.update().where(items.c.id == row.id).values(seen_at=row.seen_at - shift)
                )
            if "listed_since" in feeds.c:
                for row in conn.execute(sa.select(feeds.c.id, feeds.c.listed_since)):
                    if row.listed_since is not None:
                        later = row.listed_since - shift
                        conn.execute(
                            feeds.update().where(feeds.c.id == row.id).values(listed_since=later)
                        )
        return store.prune(harness.settings().retention_days)
    finally:
        store.close()


@pytest.mark.parametrize("etag", [None, '"v1"'], ids=["full polls", "304 for months"])
async def test_an_item_still_listed_is_never_alerted_again(
    harness: Harness, etag: str | None
) -> None:
    site = harness.site
    site.route("/f.xml", rss([{**OLD, "date": datetime.now(UTC)}]), etag=etag)
    harness.write(["/f.xml"])
    assert await console_cycle(harness) == 0, "first sight: recorded without alerting"
    assert await console_cycle(harness) == 0

    pruned = age(harness, 100)  # a hundred days on; the feed still lists the item
    assert pruned["items"] == 0, "an item its feed still lists is kept"
    assert await console_cycle(harness) == 0

    newer = rss([{**NEW, "date": datetime.now(UTC)}, {**OLD, "date": datetime.now(UTC)}])
    site.route("/f.xml", newer, etag='"v2"' if etag else None)
    assert await console_cycle(harness) == 1, "only the new item alerts"


async def test_an_item_the_feed_dropped_is_forgotten_after_retention(harness: Harness) -> None:
    site = harness.site
    site.route("/f.xml", rss([{**OLD, "date": datetime.now(UTC)}]))
    harness.write(["/f.xml"])
    await console_cycle(harness)
    assert age(harness, 2)["items"] == 0
    site.route("/f.xml", rss([{**NEW, "date": datetime.now(UTC)}]))
    await console_cycle(harness)  # two days on, OLD is no longer listed
    assert age(harness, 100)["items"] == 1, "the database stays bounded"
