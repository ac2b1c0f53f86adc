"""The loopback farm of bench/schedule_bench.py, in its own process (its CPU is not the bot's).

One asyncio HTTP/1.1 server per feed host (127.0.1.1, 127.0.2.1, ...), one port
for all. Feed ``k`` is ``/f{k}.xml`` on its host; a hanging feed never answers
(the bot's fetch deadline ends it); a live feed carries a few old off-topic items
and gains new on-topic ones ("Kazakhstan") at random times, each with a page
``/f{k}/a{j}.html``. ETag/304 on every feed. It records, in wall-clock time
(``time.time()``, shared with the fake Bot API's process):

- every request of each feed (``polls``), for the gaps between polls;
- when each item was published (added to its feed) and first served in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from benchlib import bind_hosts, read_request, response_head

WORDS = [
    "".join(
        random.Random(i).choice("bcdfghklmnprstvz") + random.Random(i + 7).choice("aeiou")
        for _ in range(3)
    )
    for i in range(4000)
]


@dataclass
class FeedSpec:
    host: str
    hang: bool


@dataclass
class Farm:
    feeds: list[FeedSpec]
    port: int = 0
    items: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    published: dict[str, float] = field(default_factory=dict)  # "/f{k}/a{j}.html" -> time
    first_served: dict[str, float] = field(default_factory=dict)
    polls: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    rng: random.Random = field(default_factory=lambda: random.Random(18))

    def publish(self, k: int) -> None:
        j = len(self.items[k]) + 100
        self.items[k].append(j)
        self.published[f"/f{k}/a{j}.html"] = time.time()

    def feed_body(self, k: int) -> tuple[bytes, str]:
        host = f"http://{self.feeds[k].host}:{self.port}"
        old = "".join(
            f"<item><title>Feed {k} note {i}: a quiet day in the markets</title>"
            f"<link>{host}/f{k}/o{i}.html</link><guid>f{k}-o{i}</guid>"
            f"<description>Nothing of note happened.</description>"
            f"<pubDate>{formatdate(time.time() - 86400 * (2 + i), usegmt=True)}</pubDate></item>"
            for i in range(3)
        )
        new = "".join(
            f"<item><title>Kazakhstan: {self.title(k, j)}</title>"
            f"<link>{host}/f{k}/a{j}.html</link><guid>f{k}-a{j}</guid>"
            f"<description>Kazakhstan {self.text(k, j, 20)}</description>"
            f"<pubDate>{formatdate(self.published[f'/f{k}/a{j}.html'], usegmt=True)}</pubDate>"
            f"</item>"
            for j in reversed(self.items[k])
        )
        etag = f'"f{k}-{len(self.items[k])}"'
        xml = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {k}</title>'
            f"<link>{host}/</link><description>d</description>{new}{old}</channel></rss>"
        )
        return xml.encode(), etag

    @staticmethod
    def text(k: int, j: int, n: int) -> str:
        r = random.Random(k * 100_003 + j)
        return " ".join(r.choice(WORDS) for _ in range(n))

    def title(self, k: int, j: int) -> str:
        return f"story {k}-{j} " + self.text(k, j + 1, 5)

    def page(self, k: int, j: int) -> bytes:
        paras = "".join(f"<p>In Kazakhstan, {self.text(k, j * 10 + p, 40)}.</p>" for p in range(6))
        return (
            f"<html><head><title>{self.title(k, j)}</title></head><body><article>"
            f"<h1>Kazakhstan: {self.title(k, j)}</h1>{paras}</article></body></html>"
        ).encode()


def respond(farm: Farm, path: str, headers: dict[str, str]) -> tuple[bytes, bytes] | None:
    """(head, body), or None: hang."""
    now = time.time()
    if path.startswith("/f") and path.endswith(".xml"):
        k = int(path[2:-4])
        farm.polls[k].append(now)
        if farm.feeds[k].hang:
            return None
        body, etag = farm.feed_body(k)
        for j in farm.items[k]:
            farm.first_served.setdefault(f"/f{k}/a{j}.html", now)
        if headers.get("if-none-match") == etag:
            return response_head(304, [("ETag", etag)], 0), b""
        rss = [("Content-Type", "application/rss+xml"), ("ETag", etag)]
        return response_head(200, rss, len(body)), body
    if path.startswith("/f") and "/a" in path:
        k, j = (int(x) for x in path[2:-5].split("/a"))
        body = farm.page(k, j)
        return response_head(200, [("Content-Type", "text/html; charset=utf-8")], len(body)), body
    return response_head(404, [], 0), b""


async def serve_conn(farm: Farm, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    try:
        while (request := await read_request(reader)) is not None:
            _, path, headers = request
            answer = respond(farm, path, headers)
            if answer is None:  # hang: until the client gives up
                await reader.read()
                break
            writer.write(answer[0] + answer[1])
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def publisher(farm: Farm, rate: float, stop: asyncio.Event) -> None:
    """New on-topic items on random live feeds, a Poisson process of ``rate`` per second."""
    live = [k for k, f in enumerate(farm.feeds) if not f.hang]
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), farm.rng.expovariate(rate))
        if not stop.is_set():
            farm.publish(farm.rng.choice(live))


def farm_main(conn: Any, feeds: list[FeedSpec]) -> None:
    """Process entry: serve; obey ("publish", rate) | ("quiet",) | ("stats",) | ("stop",)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    farm = Farm(feeds)
    loop = asyncio.new_event_loop()
    quiet = asyncio.Event()
    hosts = sorted({f.host for f in feeds})

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_conn(farm, reader, writer)

    servers = loop.run_until_complete(bind_hosts(handler, hosts, backlog=512))
    farm.port = servers[0].sockets[0].getsockname()[1]

    def call(fn: Any) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result()

    def control() -> None:
        conn.send(farm.port)
        while True:
            try:
                cmd = conn.recv()
            except EOFError:
                cmd = ("stop",)
            if cmd[0] == "publish":
                rate = cmd[1]
                call(lambda rate=rate: loop.create_task(publisher(farm, rate, quiet)))
                conn.send(True)
            elif cmd[0] == "quiet":
                call(quiet.set)
                conn.send(True)
            elif cmd[0] == "stats":
                conn.send(
                    call(
                        lambda: {
                            "polls": dict(farm.polls),
                            "published": dict(farm.published),
                            "first_served": dict(farm.first_served),
                        }
                    )
                )
            else:
                call(quiet.set)
                loop.call_soon_threadsafe(loop.stop)
                return

    threading.Thread(target=control, daemon=True).start()
    loop.run_forever()
    for s in servers:
        s.close()
