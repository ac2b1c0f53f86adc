"""Helpers for the console's tests: a free port, a login link from the fake Bot API."""

from __future__ import annotations

import html
import re
import socket

from tests.helpers.chat import say
from tests.helpers.harness import Harness

ADMIN = 700
USER = 701
_LINK = re.compile(r'href="([^"]+/login\?token=[^"]+)"')


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


async def login_link(h: Harness, user: int = ADMIN) -> str | None:
    """Send /console as ``user``; the link in the answer, or None."""
    answer = (await say(h, user, "/console"))["text"]
    found = _LINK.search(answer)
    return html.unescape(found.group(1)) if found else None
