"""``newsbot run`` as a real process against hostile input: it stays responsive.

Found this way (issue 17): with a feed of 40,000 attributes on one tag, ``/help``
went unanswered for 31 s, and with 60,000, SIGTERM took 72 s instead of 10. Feeds
are now parsed in the worker processes, refused early when absurd, and stopped
at a deadline when merely slow, so neither a command nor a shutdown waits on them.
A 1.8 kB ``Content-Encoding: gzip, gzip`` response took the process to 2.1 GB;
stacked codings are refused, a single layer is decoded under the cap, and the
process's peak memory shows it.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.helpers.harness import Harness
from tests.helpers.process import FRESH, STOP_LIMIT, Bot

pytestmark = pytest.mark.process
CHAT = 7171
HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
TAIL = b"</channel></rss>"


def test_hostile_feeds_neither_silence_commands_nor_delay_shutdown(
    harness: Harness, bot: Bot
) -> None:
    site, api = harness.site, harness.telegram
    attrs = b" ".join(b'a%d="x"' % i for i in range(60_000))
    site.route("/attrs.xml", HEAD + b"<item " + attrs + b"><title>x</title></item>" + TAIL)
    block = b"<div>" * 900 + b"x" + b"</div>" * 900  # passes the checks, parses for ~10 s
    slow = (
        b"<item><title>x</title><description><![CDATA[" + block * 400 + b"]]></description></item>"
    )
    site.route("/slow.xml", HEAD + slow + TAIL)
    bombs = {"/gzgz.xml": "gzip, gzip", "/dfdf.xml": "deflate, deflate", "/gz.xml": "gzip"}
    for path, coding in bombs.items():
        site.bomb(path, 256 * 1024 * 1024, coding, content_type="application/rss+xml")
    harness.write(["/attrs.xml", "/slow.xml", *bombs], **FRESH)

    bot.start()
    site.wait_for(lambda s: s.hits("/attrs.xml") >= 2 and s.hits("/slow.xml") >= 1, 30)
    site.wait_for(lambda s: all(s.hits(p) >= 2 for p in bombs), 30)
    api.push_message(CHAT, "/help")
    api.wait_for(lambda a: any(m["chat_id"] == CHAT for m in a.sent), 5)  # was 31 s
    peak = peak_rss(bot)
    code, seconds = bot.stop(signal.SIGTERM)

    assert code == 0, bot.tail()
    assert seconds < STOP_LIMIT, f"took {seconds:.1f} s to stop (was 72 s)"
    kinds = {e.get("kind") for e in bot.events() if e.get("event") == "feed_failed"}
    assert {"hostile_markup", "encoding", "too_large"} <= kinds, bot.tail()
    if peak is not None:
        assert peak < 400 * 1024 * 1024, f"peak RSS {peak / 2**20:.0f} MB (was 2.1 GB)"


def peak_rss(bot: Bot) -> int | None:
    """The bot process's peak resident memory so far (Linux: VmHWM), in bytes."""
    assert bot.proc is not None
    try:
        status = Path(f"/proc/{bot.proc.pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return int(line.split()[1]) * 1024 if line else None
