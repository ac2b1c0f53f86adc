"""Every refusal of the fetch stage names the setting that would change it.

Before: "refused: 127.0.0.1, a loopback address" left the operator to find
``fetch.allow_loopback`` in the docs; caps and limits did not say which key they were.
"""

from __future__ import annotations

import pytest

from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.ingest.fetch import Fetcher
from tests.fakes.web import LoopbackSite


async def refusal(settings: FetchSettings, url: str, *, page: bool = False) -> str:
    fetcher = Fetcher(settings)
    try:
        with pytest.raises(FetchError) as err:
            await (fetcher.fetch_page(url) if page else fetcher.fetch_feed(url))
    finally:
        await fetcher.aclose()
    return str(err.value)


OPEN = {"allow_loopback": True, "per_host_interval_seconds": 0}


async def test_loopback_refusal_names_allow_loopback(site: LoopbackSite) -> None:
    site.route("/feed.xml", "<rss/>")
    message = await refusal(FetchSettings(), site.url("/feed.xml"))
    assert "a loopback address" in message and "fetch.allow_loopback: true" in message
    assert site.hits("/feed.xml") == 0


@pytest.mark.parametrize(("page", "setting"), [(False, "max_feed_bytes"), (True, "max_page_bytes")])
async def test_size_caps_name_their_setting(site: LoopbackSite, page: bool, setting: str) -> None:
    site.big("/big", 200_000)
    settings = FetchSettings(max_feed_bytes=50_000, max_page_bytes=50_000, **OPEN)
    message = await refusal(settings, site.url("/big"), page=page)
    assert "exceeds the cap" in message and f"raise fetch.{setting}" in message


async def test_redirect_limit_and_deadline_name_their_settings(site: LoopbackSite) -> None:
    site.redirect("/a", site.url("/b"))
    site.redirect("/b", site.url("/a"))
    message = await refusal(FetchSettings(max_redirects=2, **OPEN), site.url("/a"))
    assert "fetch.max_redirects: 2" in message
    site.hang("/slow")
    message = await refusal(FetchSettings(deadline_seconds=0.3, **OPEN), site.url("/slow"))
    assert "within 0.3 s (fetch.deadline_seconds)" in message
