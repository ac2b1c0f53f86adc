"""The orchestrator's guarantees: nothing lost on a crash, no flood, redirects remembered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app.service import Service
from bot.store import Store
from bot.store.items import ItemStore
from tests.helpers.harness import Harness, rss


def item(site, n: int, hours_old: float = 0) -> dict:
    return {
        "title": f"Tokajew und die OVKS in Kasachstan, Teil {n}",
        "link": site.url(f"/gone/{n}"),
        "description": "Präsident Tokajew: die OVKS-Truppen verlassen Kasachstan.",
        "date": datetime.now(UTC) - timedelta(hours=hours_old),
    }


async def console_cycle(harness: Harness) -> tuple[Service, int]:
    async with Service(harness.settings(), console=True) as service:
        await service.once()
        return service, service.deliverer.sender.count


def items_seen(harness: Harness) -> list[int]:
    """Per feed, how many items the store has recorded as seen."""
    store = Store.open(harness.settings().db_url)
    try:
        return [h.items_seen for h in store.feeds.health()]
    finally:
        store.close()


def feed_requests(harness: Harness, path: str = "/f.xml") -> list[dict[str, str]]:
    """The headers of every request for the feed, oldest first."""
    return [headers for p, headers in harness.site.requests if p == path]


async def test_a_crash_while_recording_loses_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    await console_cycle(harness)  # first sight
    harness.site.route("/f.xml", rss([item(harness.site, 1)]), etag='"x"')

    real = ItemStore.record_article
    calls = {"n": 0}

    def crash_once(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated crash between match and record")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ItemStore, "record_article", crash_once)
    _, sent = await console_cycle(harness)
    assert calls["n"] == 1, "the item was matched and reached the recorder, which crashed"
    assert sent == 0  # the item failed, so the feed's validators were not saved either
    _, sent = await console_cycle(harness)
    assert "if-none-match" not in feed_requests(harness)[-1], "no validators were saved"
    assert sent == 1, "the item is retried on the next cycle and alerted"
    assert calls["n"] == 2
    _, sent = await console_cycle(harness)
    assert feed_requests(harness)[-1].get("if-none-match") == '"x"', "now they were"
    assert sent == 0, "and only once"
    assert len(feed_requests(harness)) == 4 and items_seen(harness) == [1]


async def test_first_sight_records_without_alerting_unless_recent(harness: Harness) -> None:
    site = harness.site
    site.route("/f.xml", rss([item(site, 1, hours_old=1), item(site, 2, hours_old=30)]))
    harness.write(["/f.xml"], alerts={"first_poll_max_age_hours": 6})
    _, sent = await console_cycle(harness)
    assert sent == 1, "only the item younger than 6 hours alerts on first sight"
    assert items_seen(harness) == [2], "the old one is recorded as seen"
    _, sent = await console_cycle(harness)
    assert sent == 0
    assert len(feed_requests(harness)) == 2, "the feed was polled again, its items known"


async def test_first_sight_default_sends_nothing(harness: Harness) -> None:
    harness.site.route("/f.xml", rss([item(harness.site, n) for n in range(5)]))
    harness.write(["/f.xml"])
    _, sent = await console_cycle(harness)
    assert sent == 0
    assert len(feed_requests(harness)) == 1, "the feed was fetched"
    assert items_seen(harness) == [5], "and its five on-topic items recorded as seen"
    # Only first sight is quiet: the next poll alerts what is new, and only that.
    harness.site.route("/f.xml", rss([item(harness.site, n) for n in range(6)]))
    _, sent = await console_cycle(harness)
    assert sent == 1 and items_seen(harness) == [6]


async def test_permanent_redirect_updates_the_stored_url(harness: Harness) -> None:
    site = harness.site
    site.route("/new.xml", rss([]))
    site.redirect("/old.xml", site.url("/new.xml"), status=308)
    harness.write(["/old.xml"])
    _service, _ = await console_cycle(harness)
    await console_cycle(harness)
    assert site.hits("/old.xml") == 1, "the second poll goes straight to the new URL"
    assert site.hits("/new.xml") == 2


async def test_edited_title_or_changed_guid_does_not_re_alert(harness: Harness) -> None:
    site = harness.site
    text = "Präsident Tokajew sagt, die OVKS-Truppen verlassen Kasachstan binnen zehn Tagen."
    base = {
        "title": "Tokajew: Abzug aus Kasachstan",
        "link": site.url("/a/1?utm_source=rss"),
        "guid": "urn:story:1",
        "description": text,
    }
    site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    await console_cycle(harness)  # first sight: empty feed
    site.route("/f.xml", rss([base]))
    assert (await console_cycle(harness))[1] == 1
    variants = [
        {**base, "title": "Tokajew: Truppenabzug aus Kasachstan (aktualisiert)"},
        {**base, "guid": "urn:story:1-v2", "link": site.url("/a/1?utm_medium=social")},
        {**base, "guid": "urn:story:1-v3", "link": site.url("/a/1-renamed")},  # same text
    ]
    for n, variant in enumerate(variants):
        site.route("/f.xml", rss([variant]))
        assert (await console_cycle(harness))[1] == 0, variant
        assert len(feed_requests(harness)) == 3 + n, "the variant was fetched and parsed"
    # The edited title keeps its GUID: the same item. A new GUID is a new item (identity
    # never merges two items), and the story layer keeps it from alerting again.
    assert items_seen(harness) == [3], "one item for the original and the retitling, one per GUID"


@pytest.mark.slow  # real time: the broken threshold, then back-offs and recovery polls
async def test_a_feed_broken_for_long_is_reported_once_and_its_recovery_too(
    harness: Harness,
) -> None:
    site, api = harness.site, harness.telegram
    site.route("/f.xml", "down", status=500)
    harness.write(
        ["/f.xml"], telegram={"admins": [321]}, polling={"broken_after_hours": 0.0002}
    )  # under a second
    async with harness.running() as service:
        await harness.wait_sent(lambda a: any("Feed broken" in m["text"] for m in a.sent))
        failures = site.hits("/f.xml")
        await site.wait_for_async(lambda s: s.hits("/f.xml") >= failures + 3)
        site.route("/f.xml", rss([]))
        await harness.wait_sent(lambda a: any("Feed recovered" in m["text"] for m in a.sent))
        await service.pipeline.wait_polls(service.pipeline.polls + 2)
    notes = [m["text"] for m in api.sent if m["chat_id"] == 321]
    assert sum("Feed broken" in n for n in notes) == 1, notes
    assert sum("Feed recovered" in n for n in notes) == 1, notes
    assert "HTTP 500" in notes[0]


async def test_unmatched_items_are_batched_and_a_lost_batch_is_only_redone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items that matched nothing are marked seen once per feed; if that write never
    lands they are processed again, while the matched item is alerted exactly once."""
    site = harness.site
    site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    await console_cycle(harness)  # first sight
    quiet = [
        {
            "title": f"Wetter in Berlin, Teil {n}",
            "link": site.url(f"/quiet/{n}"),
            "description": "Regen am Montag, Sonne am Dienstag.",
        }
        for n in range(3)
    ]
    site.route("/f.xml", rss([item(site, 1), *quiet]), etag='"y"')

    real = ItemStore.mark_seen
    calls = {"n": 0}

    def lost_once(self, feed_id, entries, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated crash before the batch of unmatched items")
        return real(self, feed_id, entries, **kwargs)

    monkeypatch.setattr(ItemStore, "mark_seen", lost_once)
    _, sent = await console_cycle(harness)
    assert sent == 1 and site.hits("/quiet/0") == 1
    _, sent = await console_cycle(harness)
    assert sent == 0, "the matched item was recorded on its own: no second alert"
    assert [site.hits(f"/quiet/{n}") for n in range(3)] == [2, 2, 2], "unmatched ones redone"
    _, sent = await console_cycle(harness)
    assert sent == 0 and site.hits("/quiet/0") == 2, "and then remembered"
    store = Store.open(harness.settings().db_url)
    assert [h.items_seen for h in store.feeds.health()] == [4], "items, not identity keys"
    store.close()
