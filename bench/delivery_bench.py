"""Delivery micro-bench: the bot process's CPU per alert sent, drain → PTB → fake Bot API.

Run: ``.venv/bin/python bench/delivery_bench.py [--articles 20] [--profile out.prof]``.
It prints figures and asserts nothing. The service is built as ``newsbot run``
builds it (shipped settings, the real ``Deliverer``, ``TelegramSender`` and alert
buttons); the rate-limited fake Bot API runs in its own process (benchlib), so the
CPU counted here is only this process's: the drain, the outbox, rendering, PTB
and the loop, which is what pipeline_bench's "delivery CPU ms/message (tail)"
measures inside ``newsbot run``. Alerts are recorded as the pipeline records them
(bench chats: 30 private chats on every topic and a group on csto).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, TOKEN, Limits, telegram_main

sys.path.insert(0, str(ROOT))
TOPICS = ("kazakhstan", "csto", "tokayev", "kazakhstan_unrest", "csto_deployment")


def _queue(store: object, articles: int) -> None:
    from bot.core.models import Article, Hit, TopicMatch
    from tests.helpers.chat import record

    for n in range(articles):
        topics = TOPICS[: 1 + n % 2] if n % 3 else ("csto",)
        hit = Hit("kazakhstan", "body", 0, 6, "Astana")
        found = [TopicMatch(t, t.title(), (hit,)) for t in topics]
        url = f"https://outlet{n % 40}.test/news/{n}"
        body = "Astana — officials said on Tuesday that the meeting will go ahead. " * 4
        article = Article(url, f"Story {n}: Tokayev meets CSTO envoys", body, body, "Outlet", None)
        record(store, article, found)  # type: ignore[arg-type]


class _Profile:
    """cProfile (``x.prof``) or pyinstrument's sampler (``x.txt``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path.endswith(".prof"):
            self.prof: Any = cProfile.Profile()
        else:
            from pyinstrument import Profiler  # optional: pip install pyinstrument

            self.prof = Profiler(interval=0.0005, async_mode="disabled")

    def start(self) -> None:
        if isinstance(self.prof, cProfile.Profile):
            self.prof.enable()
        else:
            self.prof.start()

    def stop(self, path: str) -> None:
        if isinstance(self.prof, cProfile.Profile):
            self.prof.disable()
            self.prof.dump_stats(path)
        else:
            self.prof.stop()
            Path(path).write_text(self.prof.output_text(show_all=False, color=False))


def _profiler(path: str | None) -> _Profile | None:
    return _Profile(path) if path else None


async def _drain(config: Path, articles: int, profile: str | None) -> tuple[int, float, float]:
    from bot.app.service import Service
    from bot.config.settings import load_settings

    async with Service(load_settings(config)) as service:
        _queue(service.store, articles)
        queued = service.store.outbox.counts().get("pending", 0)
        prof = _profiler(profile)
        wall, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.start()
        while service.store.outbox.counts().get("pending", 0):
            if not await service.deliverer.deliver_due():
                await asyncio.sleep(0.05)
        if prof:
            prof.stop(profile)
        return queued, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=20, help="recorded (~30 alerts each)")
    ap.add_argument(
        "--profile", help="x.prof (cProfile) or x.txt (pyinstrument: wall time, skip select)"
    )
    args = ap.parse_args()
    from shipped import subscribe, write_config

    ctx = multiprocessing.get_context("spawn")
    conn, end = ctx.Pipe()
    tg = ctx.Process(target=telegram_main, args=(end, Limits()), daemon=True)
    tg.start()
    url = conn.recv()
    os.environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-dbench-") as tmp:
            config = write_config(Path(tmp), ["http://127.0.0.1:9/f.xml"], url, 0, None)
            chats = {1000 + i: TOPICS for i in range(30)}
            chats[-100_000_001] = ("csto",)
            subscribe(config, chats)
            sent, cpu, wall = asyncio.run(_drain(config, args.articles, args.profile))
    finally:
        conn.send("stats")
        stats = conn.recv()
        conn.send("stop")
        tg.join(timeout=10)
    refused = sum(stats["refused"].values())
    print(
        f"{sent} messages in {wall:.1f} s ({sent / wall:.1f}/s), bot-process CPU "
        f"{cpu / sent * 1e3:.2f} ms/message, {refused} × 429 (machine shared: noisy)"
    )


if __name__ == "__main__":
    main()
