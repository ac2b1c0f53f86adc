"""Item identity in the running pipeline: an upgrade re-alerts nothing, edits alert once.

The database is written the way the any-shared-key rule wrote it (schema 0004,
every item stored under all of its old keys, items sharing a link merged), then
the current code migrates it and polls the same feed.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import feedparser
import sqlalchemy as sa
from alembic import command

from bot.app.service import Service
from bot.core.models import Entry
from bot.ingest.legacy import any_key_identity, old_text
from bot.store.engine import alembic_config, create_engine
from bot.store.items import ItemStore
from bot.store.schema import feeds as feeds_table
from tests.helpers.harness import Harness, rss

STORIES = [
    "Präsident Tokajew sagt, die OVKS-Truppen verlassen Kasachstan binnen zehn Tagen.",
    "In Almaty öffnen die Banken wieder, berichtet die Nationalbank von Kasachstan.",
    "Kasachstan senkt den Gaspreis in Mangystau auf das Niveau vom Dezember.",
    "Das Parlament von Kasachstan bestätigt Alichan Smailow als Regierungschef.",
    "Die Internetsperre in Kasachstan endet nach fünf Tagen, melden Anbieter.",
]


def news(site, n: int, **extra: str) -> dict:
    """A distinct story matching the default topics; items share one page unless told."""
    return {
        "title": f"Kasachstan, Meldung {n}",
        "link": site.url("/news.html"),
        "guid": "",
        "description": STORIES[n - 1],
        **extra,
    }


def feed_xml(items: list[dict]) -> str:
    """RSS whose items have no <guid> when theirs is empty (the shape that merged)."""
    return rss(items).replace("<guid></guid>", "")


def write_old_database(harness: Harness, url: str, body: str) -> None:
    """Schema 0004 with ``body``'s items stored exactly as the old rule stored them."""
    engine = create_engine(harness.settings().db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(
            sa.text(
                "INSERT INTO feeds (config_url, url, name, enabled, consecutive_failures,"
                " items_seen, first_polled_at, broken) VALUES (:u, :u, 'F', 1, 0, 0, :t, 0)"
            ),
            {"u": url, "t": datetime.now(UTC)},
        )
        feed_id = conn.scalar(sa.text("SELECT id FROM feeds"))
    seen: set[str] = set()
    old: list[Entry] = []
    for raw in feedparser.parse(io.BytesIO(body.encode())).entries:  # the old unseen()
        keys = any_key_identity(
            raw.get("id"),
            raw.get("link", ""),
            old_text(raw.get("title", ""), 1000),
            old_text(raw.get("summary", ""), 100_000),
        )
        if not seen & set(keys):
            old.append(Entry(keys[0], raw.get("link", ""), "", "", None, keys=keys))
        seen |= set(keys)
    assert len(old) == 2, "the old rule merged the items sharing a link"
    ItemStore(engine).mark_seen(feed_id, old)
    engine.dispose()


async def cycle(harness: Harness) -> int:
    async with Service(harness.settings(), console=True) as service:
        await service.once()
        return service.deliverer.sender.count


def legacy_flags(harness: Harness) -> list[bool]:
    engine = create_engine(harness.settings().db_url)
    with engine.connect() as conn:
        flags = list(conn.scalars(sa.select(feeds_table.c.legacy_keys)))
    engine.dispose()
    return flags


async def test_an_upgraded_database_re_alerts_nothing_and_then_merges_nothing(
    harness: Harness,
) -> None:
    site = harness.site
    old_items = [
        news(site, 1, guid="urn:story:1", link=site.url("/a/1")),
        *(news(site, n) for n in (2, 3, 4)),
    ]
    body = feed_xml(old_items)
    harness.write(["/f.xml"])
    write_old_database(harness, site.url("/f.xml"), body)
    site.route("/f.xml", body)

    assert await cycle(harness) == 0, "items the old rule had seen do not alert again"
    assert legacy_flags(harness) == [False], "the feed's old keys are retired after one poll"

    site.route("/f.xml", feed_xml([news(site, 5), *old_items]))
    assert await cycle(harness) == 1, "a new post on the shared page is no longer merged"
    assert await cycle(harness) == 0


async def test_a_new_database_has_no_legacy_feeds(harness: Harness) -> None:
    harness.site.route("/f.xml", feed_xml([news(harness.site, 1)]))
    harness.write(["/f.xml"])
    assert await cycle(harness) == 0  # first sight
    assert legacy_flags(harness) == [False]


async def test_an_edited_item_known_only_by_its_content_alerts_once(harness: Harness) -> None:
    """Items sharing a link are keyed by their content: an edit makes a new key, one story."""
    site = harness.site
    site.route("/f.xml", feed_xml([]))
    harness.write(["/f.xml"])
    await cycle(harness)  # first sight: empty feed
    first = [news(site, 1), news(site, 2)]
    site.route("/f.xml", feed_xml(first))
    assert await cycle(harness) == 2
    edited = [{**first[0], "title": first[0]["title"] + " (aktualisiert)"}, first[1]]
    site.route("/f.xml", feed_xml(edited))
    assert await cycle(harness) == 0, "the edited item is the same story: no second alert"
