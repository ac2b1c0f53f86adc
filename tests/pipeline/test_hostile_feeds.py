"""Hostile feeds cost only themselves: each is refused or stopped, the loop never stalls.

One cycle polls a good feed beside feeds built to hurt: 60,000 attributes on one
tag, nesting a million deep, 200,000 items, stacked and single compression bombs,
a feed that passes every cheap check but parses for seconds, and a surrogate
reference. A loop-lag probe runs throughout: the event loop is never blocked for
more than 100 ms (before, the attribute feed alone held it for over a minute).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app.service import Service
from tests.helpers.harness import Harness, rss
from tests.helpers.looplag import LIMIT, LoopLag

HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
TAIL = b"</channel></rss>"


def one_item(inner: bytes, title: bytes = b"x") -> bytes:
    return HEAD + b"<item><title>" + title + b"</title>" + inner + b"</item>" + TAIL


def hostile_routes(harness: Harness) -> dict[str, str]:
    """Serve each hostile feed; return path -> the kind of failure it must end in."""
    site = harness.site
    attrs = b" ".join(b'a%d="x"' % i for i in range(60_000))
    site.route("/attrs.xml", HEAD + b"<item " + attrs + b"><title>x</title></item>" + TAIL)
    deep = 800_000  # 8.8 MB, under the 10 MB cap
    site.route("/nested.xml", one_item(b"<description>" + b"<div>" * deep + b"</div>" * deep))
    site.route("/items.xml", HEAD + b"<item><title>x</title></item>" * 200_000 + TAIL)
    site.bomb("/stacked.xml", 200 * 1024 * 1024, "gzip, gzip")
    site.bomb("/bomb.xml", 200 * 1024 * 1024, "gzip")
    block = b"<div>" * 900 + b"x" + b"</div>" * 900  # shallow enough to pass, slow to parse
    site.route(
        "/slow.xml", one_item(b"<description><![CDATA[" + block * 400 + b"]]></description>")
    )
    return {
        "/attrs.xml": "hostile_markup",
        "/nested.xml": "hostile_markup",
        "/items.xml": "hostile_markup",
        "/stacked.xml": "encoding",
        "/bomb.xml": "too_large",
        "/slow.xml": "parse_deadline",
    }


@pytest.mark.slow  # one feed runs into its 2 s parse deadline
async def test_hostile_feeds_fail_alone_and_never_block_the_loop(harness: Harness) -> None:
    site = harness.site
    expected = hostile_routes(harness)
    now = datetime.now(UTC)
    site.route(
        "/good.xml",
        rss([{"title": "Kazakhstan opens a new rail link", "link": site.url("/a/1"), "date": now}]),
    )
    poison = {"title": "Tokayev &#xD800; meets the press", "link": site.url("/a/2"), "date": now}
    site.route("/poison.xml", rss([poison]))
    harness.write(
        [*expected, "/good.xml", "/poison.xml"],
        extract={"workers": 1, "timeout_seconds": 2},
        fetch={"deadline_seconds": 10, "max_feed_bytes": 10_000_000},
        alerts={"first_poll_max_age_hours": 24},
    )
    async with Service(harness.settings(), console=True) as service:
        async with LoopLag() as lag:
            report = await service.once()
        alerts = service.deliverer.sender.count

    got = {"/" + url.rsplit("/", 1)[1]: kind for url, kind in report.failed_kinds.items()}
    assert got == expected, report.failed
    assert alerts == 2, "the good feed and the one with a poisoned title both alerted"
    assert lag.ticks > 10
    assert lag.worst < LIMIT, f"the event loop was blocked for {lag.worst * 1000:.0f} ms"
