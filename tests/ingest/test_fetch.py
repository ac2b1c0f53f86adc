"""The fetch stage against loopback servers: deadlines, caps, redirects, validators."""

from __future__ import annotations

import gzip
import logging
import time

import pytest

from bot.app.logs import TextFormatter
from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.ingest import decompress
from bot.ingest.decompress import ACCEPT_ENCODING
from bot.ingest.fetch import Fetcher
from tests.fakes.web import LoopbackSite, compress


@pytest.fixture
async def fetcher() -> Fetcher:
    f = Fetcher(
        FetchSettings(
            deadline_seconds=1.0,
            max_feed_bytes=50_000,
            max_redirects=3,
            user_agent="newsbot-test/1",
            allow_loopback=True,
            per_host_interval_seconds=0,
        )
    )
    yield f
    await f.aclose()


async def test_conditional_get_turns_into_304(site: LoopbackSite, fetcher: Fetcher) -> None:
    site.route("/f.xml", "<rss/>", etag='"abc"', last_modified="Thu, 13 Jan 2022 10:00:00 GMT")
    first = await fetcher.fetch_feed(site.url("/f.xml"))
    assert first.status == 200 and first.etag == '"abc"'
    second = await fetcher.fetch_feed(
        site.url("/f.xml"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified and second.body == b""
    assert site.requests[-1][1]["if-none-match"] == '"abc"'
    assert site.requests[-1][1]["user-agent"] == "newsbot-test/1"


async def test_permanent_redirect_is_reported_temporary_is_not(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    site.route("/new.xml", "<rss/>")
    site.redirect("/old.xml", site.url("/new.xml"), status=301)
    site.redirect("/tmp.xml", site.url("/new.xml"), status=302)
    moved = await fetcher.fetch_feed(site.url("/old.xml"))
    assert moved.permanent_redirect and moved.final_url == site.url("/new.xml")
    assert not (await fetcher.fetch_feed(site.url("/tmp.xml"))).permanent_redirect


async def test_redirect_loop_is_a_clear_error(site: LoopbackSite, fetcher: Fetcher) -> None:
    site.redirect("/a", site.url("/b"))
    site.redirect("/b", site.url("/a"))
    with pytest.raises(FetchError, match="too many redirects") as err:
        await fetcher.fetch_feed(site.url("/a"))
    assert err.value.kind == "redirects"


async def test_slow_drip_is_cut_at_the_total_deadline(site: LoopbackSite, fetcher: Fetcher) -> None:
    site.drip("/drip", interval=0.05)  # each chunk beats httpx's per-read timeout
    start = time.monotonic()
    with pytest.raises(FetchError) as err:
        await fetcher.fetch_feed(site.url("/drip"))
    assert err.value.kind == "deadline"
    assert time.monotonic() - start < 3


async def test_body_cap_holds_for_plain_and_gzip_bodies(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    site.big("/big", 10_000_000)
    site.gzip_bomb("/bomb", 50_000_000)
    for path in ("/big", "/bomb"):
        with pytest.raises(FetchError) as err:
            await fetcher.fetch_feed(site.url(path))
        assert err.value.kind == "too_large", path


BROTLI = pytest.mark.skipif(not decompress.BROTLI, reason="brotli >= 1.2 not installed")
CODINGS = ["gzip", "deflate", "raw-deflate", pytest.param("br", marks=BROTLI)]


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_bomb_of_each_coding_trips_the_cap(
    site: LoopbackSite, fetcher: Fetcher, coding: str
) -> None:
    """Decoding is capped per step, so the cap trips long before the 1 s deadline can."""
    site.bomb("/bomb", 5_000_000, coding)  # 100 times the cap
    with pytest.raises(FetchError, match="decoded body exceeds the cap of 50000") as err:
        await fetcher.fetch_feed(site.url("/bomb"))
    assert err.value.kind == "too_large"


@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, deflate", "gzip, deflate"])
async def test_stacked_content_codings_are_refused(
    site: LoopbackSite, fetcher: Fetcher, coding: str
) -> None:
    site.bomb("/nested", 5_000_000, coding)
    with pytest.raises(FetchError, match="stacks 2 codings; newsbot decodes one at most") as err:
        await fetcher.fetch_feed(site.url("/nested"))
    assert err.value.kind == "encoding"
    assert site.url("/nested") in str(err.value)


async def test_an_unknown_coding_is_refused_by_name(site: LoopbackSite, fetcher: Fetcher) -> None:
    site.route("/z", b"(zstd frame)", headers={"Content-Encoding": "zstd"})
    with pytest.raises(FetchError, match="'zstd' is not supported") as err:
        await fetcher.fetch_feed(site.url("/z"))
    assert err.value.kind == "encoding"


@pytest.mark.parametrize("coding", [*CODINGS, "identity"])
async def test_compressed_feeds_and_pages_arrive_whole(
    site: LoopbackSite, fetcher: Fetcher, coding: str
) -> None:
    feed = b"<rss><channel>" + b"<item><title>OVKS</title></item>" * 500 + b"</channel></rss>"
    page = b"<html><body>" + b"<p>Tokayev thanks the troops.</p>" * 1500 + b"</body></html>"
    for path, body in (("/f.xml", feed), ("/p.html", page)):
        data = body if coding == "identity" else compress([body], coding)
        header = coding.replace("raw-deflate", "deflate")
        site.route(path, data, headers={"Content-Encoding": header})
    assert (await fetcher.fetch_feed(site.url("/f.xml"))).body == feed
    assert (await fetcher.fetch_page(site.url("/p.html"))).body == page
    sent = {h["accept-encoding"] for _, h in site.requests}
    assert sent == {ACCEPT_ENCODING}, "only the codings newsbot decodes are offered"


async def test_a_corrupt_gzip_body_is_a_clear_error(site: LoopbackSite, fetcher: Fetcher) -> None:
    header = gzip.compress(b"")[:10]  # a valid gzip header, then a block of invalid type
    site.route("/bad.xml", header + b"\xff" * 32, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="corrupt compressed body") as err:
        await fetcher.fetch_feed(site.url("/bad.xml"))
    assert err.value.kind == "encoding"


async def test_http_errors_carry_their_status(site: LoopbackSite, fetcher: Fetcher) -> None:
    site.route("/gone", "no", status=404)
    with pytest.raises(FetchError, match="HTTP 404") as err:
        await fetcher.fetch_feed(site.url("/gone"))
    assert err.value.kind == "http_404"


def test_log_lines_never_carry_the_bot_token() -> None:
    token = "123456:AAH-fake_test_token_value_0123456789abcdef"  # not a real token
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s",
        (f"https://api.telegram.org/bot{token}/sendMessage",),
        None,
    )
    record.url = f"https://api.telegram.org/bot{token}/getMe"
    line = TextFormatter(secrets=(token,)).format(record)
    assert token not in line and "AAH-secret" not in line
    line = TextFormatter().format(record)  # even when the token is not known to the formatter
    assert "AAH-secret" not in line and "<redacted>" in line


def test_the_suite_cannot_reach_a_non_loopback_address() -> None:
    import socket

    from pytest_socket import SocketConnectBlockedError

    with socket.socket() as sock, pytest.raises(SocketConnectBlockedError):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: must be refused before any packet


async def test_ssrf_guard_is_on_by_default(site: LoopbackSite) -> None:
    guarded = Fetcher(FetchSettings())
    site.route("/f.xml", "<rss/>")
    try:
        with pytest.raises(FetchError, match="loopback") as err:
            await guarded.fetch_feed(site.url("/f.xml"))
        assert err.value.kind == "blocked_address"
    finally:
        await guarded.aclose()


async def test_redirect_to_a_private_address_is_refused_at_the_hop(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    site.redirect("/moved", "http://10.1.2.3/feed.xml")
    with pytest.raises(FetchError, match="private") as err:
        await fetcher.fetch_feed(site.url("/moved"))
    assert err.value.kind == "blocked_address"


async def test_retry_after_and_cache_lifetime_are_reported(
    site: LoopbackSite, fetcher: Fetcher
) -> None:
    site.route("/busy", "slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as err:
        await fetcher.fetch_feed(site.url("/busy"))
    assert err.value.kind == "http_429" and err.value.retry_after == 120
    site.route("/cached", "<rss/>", headers={"Cache-Control": "public, max-age=900"})
    assert (await fetcher.fetch_feed(site.url("/cached"))).cache_seconds == 900


async def test_per_host_spacing_is_kept(site: LoopbackSite) -> None:
    polite = Fetcher(FetchSettings(allow_loopback=True, per_host_interval_seconds=0.2))
    site.route("/a", "<rss/>")
    starts = []
    try:
        for _ in range(3):
            starts.append(time.monotonic())
            await polite.fetch_feed(site.url("/a"))
        ends = time.monotonic()
    finally:
        await polite.aclose()
    assert ends - starts[0] >= 0.4, "three requests to one host take at least two spacings"


async def test_through_a_proxy_the_guard_still_vets_every_target(site: LoopbackSite) -> None:
    proxied = Fetcher(FetchSettings(proxy=site.url(""), deadline_seconds=2))
    try:
        with pytest.raises(FetchError, match="loopback") as err:
            await proxied.fetch_feed("http://127.0.0.1:9/feed.xml")
        assert err.value.kind == "blocked_address"
        assert site.hits("/feed.xml") == 0 and not site.requests, "nothing reached the proxy"
    finally:
        await proxied.aclose()
