"""Helpers for the console's tests: a free port, a login link from the fake Bot API."""

from __future__ import annotations

import asyncio
import html
import re
import socket

from tests.helpers.chat import say
from tests.helpers.harness import Harness, rss

ADMIN = 700
USER = 701
_LINK = re.compile(r"(https?://\S+/login\?token=[\w-]+)")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(h: Harness, feeds: list[str] | None = None, **overrides: object) -> int:
    """Settings with ADMIN as admin and the console on a free port; returns the port."""
    port = free_port()
    h.write(feeds or [], telegram={"admins": [ADMIN]}, web={"port": port}, **overrides)
    return port


def setup_news(h: Harness) -> int:
    """The console on a free port, the small RULES, and an empty /feed.xml to start with."""
    h.site.route("/feed.xml", rss([]), etag='"empty"')
    port = setup(h, ["/feed.xml"])
    (h.config / "rules.yaml").write_text(RULES)
    return port


async def login_link(h: Harness, user: int = ADMIN) -> str | None:
    """Send /console as ``user``; the link in the answer, or None."""
    answer = (await say(h, user, "/console"))["text"]
    found = _LINK.search(answer)
    return html.unescape(found.group(1)) if found else None


RULES = """# Console test rules: keep this comment.
topics:
  - id: csto
    name: CSTO
    description: The Russia-led alliance.
    any:
      - CSTO
      - OVKS
  - id: weather
    name: Weather
    description: Storms, rain and floods.
    any:
      - rain
"""
STORIES = [
    ("CSTO troops leave Almaty", "The CSTO began withdrawing its peacekeepers from Almaty."),
    ("Rain floods Kyiv streets", "Heavy rain flooded the streets of Kyiv on Tuesday."),
    ("Storm hits the Baltic coast", "A storm with strong wind hit the Baltic coast overnight."),
    ("Markets close higher", "Stock markets closed higher after a quiet session."),
]


def page_html(title: str, text: str) -> str:
    """An article page with enough text for extraction."""
    body = " ".join([text] * 6)
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}</p><p>{body}</p></article></body></html>"
    )


def serve_stories(h: Harness, stories: list[tuple[str, str]], start: int = 0) -> None:
    """Put ``stories`` in /feed.xml, each with its own page."""
    items = []
    for n, (title, text) in enumerate(stories, start):
        h.site.route(f"/a/{n}", page_html(title, text), content_type="text/html")
        items.append({"title": title, "link": h.site.url(f"/a/{n}"), "description": text})
    h.site.route("/feed.xml", rss(items), etag=f'"{start}-{len(items)}"')


async def archived(service, n: int, timeout: float = 30) -> None:
    """Wait (polling the store, with a deadline) until ``n`` articles are archived."""
    from bot.store.archive import ArchiveQuery

    async with asyncio.timeout(timeout):
        while service.store.archive.count(ArchiveQuery(matched_only=False)) < n:
            await service.pipeline.wait_polls(service.pipeline.polls + 1)
