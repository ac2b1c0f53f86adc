"""Offline end to end: loopback feeds and pages -> real service -> fake Bot API.

The service runs exactly as ``newsbot run`` does (Service.open/serve/close), with
the real python-telegram-bot client, real httpx, real trafilatura and SQLite.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.pipeline import orchestrator as pipeline
from bot.store import Store
from bot.store.schema import feeds as feeds_table
from tests.helpers.harness import CORPUS, Harness, rss

CHAT = 4242


def alerts_to(api, chat_id: int = CHAT) -> list[dict]:
    return [m for m in api.sent if m["chat_id"] == chat_id and "<a href=" in m["text"]]


@pytest.mark.slow  # several poll cycles, then a restart and two more
async def test_subscribe_poll_extract_match_alert_once_and_not_after_restart(
    harness: Harness,
) -> None:
    site, api = harness.site, harness.telegram
    site.route("/feed.xml", rss([]), etag='"v1"')
    site.route(
        "/article/1",
        (CORPUS / "pages" / "standard_de.html").read_bytes(),
        content_type="text/html; charset=utf-8",
    )
    harness.write(["/feed.xml"])

    async with harness.running() as service:
        await service.pipeline.wait_polls(1)  # first sight of the (empty) feed
        api.push_message(CHAT, "/subscribe kazakhstan")
        await harness.wait_sent(lambda a: any(m["chat_id"] == CHAT for m in a.sent))
        assert api.sent[-1]["text"] == "Following <b>Kazakhstan</b> now."

        item = {
            "title": "OVKS beginnt Truppenabzug aus Kasachstan",
            "link": site.url("/article/1"),
            "description": "Abzug nach Unruhen",
        }
        site.route("/feed.xml", rss([item]), etag='"v2"')
        await harness.wait_sent(lambda a: len(alerts_to(a)) >= 1)
        done = service.pipeline.polls
        await service.pipeline.wait_polls(done + 2)

    alerts = alerts_to(api)
    assert len(alerts) == 1
    text = alerts[0]["text"]
    assert alerts[0]["parse_mode"] == "HTML"
    assert "• <b>Kazakhstan</b>: " in text
    for topic in ("CSTO", "Tokayev"):  # they matched too, but the chat does not follow them
        assert f"• <b>{topic}</b>" not in text
    assert "OVKS beginnt Truppenabzug aus Kasachstan" in text
    assert "Tokajer" not in text and "Kirgisistan wählt" not in text  # sidebar teasers
    assert "feed's own text" not in text  # the page itself was extracted
    assert api.commands and {c["command"] for c in api.commands} >= {"subscribe", "mysubs"}

    sent_before, polls = len(api.sent), site.hits("/feed.xml")
    async with harness.running() as service:
        await site.wait_for_async(lambda s: s.hits("/feed.xml") >= polls + 2, 20)
        await service.pipeline.wait_polls(service.pipeline.polls + 1)  # the last one recorded
    assert len(api.sent) == sent_before, "a restart on the same state must not re-alert"
    assert service.store.outbox.counts() == {"sent": 1}, "nothing queued for later either"


@pytest.mark.slow  # three polls of a feed that hangs until its 2 s deadline
async def test_failing_feeds_do_not_stop_the_others_and_304_costs_no_parse(
    harness: Harness, monkeypatch
) -> None:
    site = harness.site
    parsed: list[str] = []
    real_parse = pipeline.parse_in_worker

    async def counting_parse(workers, body: bytes, url: str, content_type: str = "", **options):
        parsed.append(url)
        return await real_parse(workers, body, url, content_type, **options)

    monkeypatch.setattr(pipeline, "parse_in_worker", counting_parse)
    site.route("/good.xml", rss([]), etag='"g1"')
    site.route("/500.xml", "oops", status=500)
    site.route("/garbage.xml", b"\x00\x01 this is not xml at all {]", content_type="text/plain")
    site.hang("/slow.xml")
    harness.write(["/500.xml", "/garbage.xml", "/slow.xml", "/good.xml"])

    async with harness.running() as service:
        polled = ("/good.xml", "/500.xml", "/garbage.xml", "/slow.xml")
        await site.wait_for_async(lambda s: all(s.hits(p) >= 3 for p in polled), 30)
        await service.pipeline.wait_polls(service.pipeline.polls + 1)  # the last one recorded
        store: Store = service.store

    good_url = site.url("/good.xml")
    assert parsed.count(good_url) == 1, "after the first 200, every poll is a 304 and no parse"
    assert site.hits("/good.xml") >= 3
    assert any(
        "If-None-Match" in h or "if-none-match" in h for p, h in site.requests if p == "/good.xml"
    )
    store = Store.open(harness.settings().db_url)
    with store.engine.connect() as conn:
        rows = {r.config_url.rsplit("/", 1)[1]: r for r in conn.execute(sa.select(feeds_table))}
    store.close()
    assert rows["good.xml"].last_success_at is not None
    assert rows["good.xml"].consecutive_failures == 0
    assert rows["500.xml"].error_kind == "http_500"
    assert rows["garbage.xml"].error_kind == "parse"
    assert rows["slow.xml"].error_kind in ("deadline", "timeout")
    for name in ("500.xml", "garbage.xml", "slow.xml"):
        assert rows[name].consecutive_failures >= 3
