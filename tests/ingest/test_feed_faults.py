"""Feed polling under hostile conditions: every fault ends as a clear per-feed status.

Also runs feedparser's whole fixture corpus (../shared/corpora, beside the checkout)
through fetch and parse over loopback: each file yields items or a per-feed error,
nothing escapes. Without the corpus that test skips and says where it looked.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
import sqlalchemy as sa

from bot.app.service import Service
from bot.config.settings import FetchSettings
from bot.core.errors import FeedError
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import parse_feed
from bot.store.schema import feeds as feeds_table
from tests.fakes.web import LoopbackSite
from tests.helpers.harness import CORPORA, Harness, rss

FIXTURES = CORPORA / "feedparser-fixtures"
FAULTS = {
    "/500.xml": "http_500",
    "/404.xml": "http_404",
    "/429.xml": "http_429",
    "/drip.xml": "deadline",
    "/huge.xml": "too_large",
    "/bomb.xml": "too_large",
    "/loop.xml": "redirects",
    "/page.html": "not_a_feed",
    "/private.xml": "blocked_address",
}


def serve_faults(site: LoopbackSite) -> None:
    site.route("/500.xml", "boom", status=500)
    site.route("/404.xml", "gone", status=404)
    site.route("/429.xml", "slow down", status=429, headers={"Retry-After": "3600"})
    site.drip("/drip.xml", chunk=b"<", interval=0.05)
    site.big("/huge.xml", 200 * 1024 * 1024)
    site.gzip_bomb("/bomb.xml", 200 * 1024 * 1024)
    site.redirect("/loop.xml", site.url("/loop2.xml"))
    site.redirect("/loop2.xml", site.url("/loop.xml"))
    site.route(
        "/page.html",
        '<html><head><link rel="alternate" type="application/rss+xml" '
        'href="/good.xml"></head><body><p>Welcome</p></body></html>',
        content_type="text/html",
    )
    site.redirect("/private.xml", "http://192.168.1.10/feed.xml")


@pytest.mark.slow  # every fault, deadlines included, plus 200 MB streamed and refused
async def test_every_fault_is_a_clear_per_feed_status_and_the_cycle_completes(
    harness: Harness,
) -> None:
    site = harness.site
    serve_faults(site)
    site.route("/good.xml", rss([]))
    harness.write(["/good.xml", *FAULTS], fetch={"max_feed_bytes": 5_000_000})
    story = {
        "title": "Tokajew: OVKS-Truppen verlassen Kasachstan",
        "link": site.url("/gone"),
        "description": "Präsident Tokajew: die OVKS-Truppen verlassen Kasachstan.",
    }
    async with Service(harness.settings(), console=True) as service:
        await service.once()  # first sight
        site.route("/good.xml", rss([story]))
        start = time.monotonic()
        report = await service.once()
        took = time.monotonic() - start
        sent = service.deliverer.sender.count
        with service.store.engine.connect() as conn:
            rows = {
                r.config_url.removeprefix(site.url("")): r
                for r in conn.execute(sa.select(feeds_table))
            }
    assert sent == 1, "the good feed is served despite every fault around it"
    assert took < 6, f"the cycle took {took:.1f} s; deadlines must bound it"
    assert report.failed_kinds == {site.url(p): kind for p, kind in FAULTS.items()}
    for path, kind in FAULTS.items():
        row = rows[path.lstrip("/")]
        assert row.error_kind == kind and row.last_error, path
    assert "advertises a feed at" in rows["page.html"].last_error
    assert "private" in rows["private.xml"].last_error
    assert "retry after 3600" in rows["429.xml"].last_error
    assert (rows["429.xml"].next_poll_at - rows["429.xml"].last_error_at).total_seconds() > 3000


def _fixture_headers(text: str) -> dict[str, str]:
    headers = {}
    for name, value in re.findall(r"^Header:\s+([\w-]+):\s*(.*)$", text, flags=re.M):
        if name.lower() in (
            "content-type",
            "content-language",
            "content-location",
            "last-modified",
            "etag",
        ):
            headers[name] = value.strip()
    return headers


@pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"feedparser's fixture corpus is not at {FIXTURES} (shared/corpora beside the "
    "checkout, or set NEWSBOT_SHARED)",
)
@pytest.mark.slow  # 2,100 files
async def test_feedparser_fixture_corpus_goes_through_fetch_and_parse(site: LoopbackSite) -> None:
    files = sorted(FIXTURES.rglob("*.xml"))
    assert len(files) > 2000
    for i, path in enumerate(files):
        raw = path.read_bytes()
        head = raw[:2000].decode("latin-1")
        headers = _fixture_headers(head)
        ctype = headers.pop("Content-type", headers.pop("Content-Type", "application/xml"))
        site.route(f"/f{i}", raw, content_type=ctype, headers=headers)
    fetcher = Fetcher(
        FetchSettings(
            allow_loopback=True,
            per_host_interval_seconds=0,
            per_host_concurrency=20,
            max_concurrency=20,
            deadline_seconds=5,
        )
    )
    outcome = {"items": 0, "empty": 0, "error": 0}

    async def one(i: int) -> None:
        try:
            result = await fetcher.fetch_feed(site.url(f"/f{i}"))
            parsed = parse_feed(result.body, result.final_url, result.content_type)
            outcome["items" if parsed.entries else "empty"] += 1
        except FeedError as exc:
            assert str(exc), "every per-feed error says what went wrong"
            outcome["error"] += 1

    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*(one(i) for i in range(len(files))))
    finally:
        await fetcher.aclose()
    print(f"fixture corpus: {outcome}")
    assert sum(outcome.values()) == len(files)
    assert outcome["items"] > 400
