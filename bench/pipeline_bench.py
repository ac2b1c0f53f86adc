"""Pipeline benchmark: the real newsbot pipeline against a naive sequential one.

Run: ``.venv/bin/python bench/pipeline_bench.py [--feeds N --items M | --quick | --burst 5000]``.
It prints figures and asserts nothing (a benchmark is not a test). Needs psutil.

What runs, each in its own process so each one's CPU and memory are its own:

- the farm (bench/benchlib.py ``farm_main``): N outlets on 127.0.1.1 … 127.0.N.1,
  each with an RSS feed of M items and ~85 kB article pages (bench/farmgen.py),
  gzip, ETag/304, keep-alive; it records when each item is first served;
- a fake Telegram Bot API (tests/fakes FakeBotAPI, subclassed) that enforces the
  flood limits (30 msg/s overall, 1 msg/s per chat, 20 msg/min per group, sliding
  windows 5 % short for jitter) with 429 + retry_after;
- the bot: ``bot.app.service.Service`` built from a config dir as the tests' Harness
  builds it (production settings except allow_loopback, a small per-host
  interval and the Bot API URL), chats subscribed, a first ``once()`` on the
  empty feeds (first sight), then the items are published and the cycle(s) that
  process them are timed while ``deliver_due`` runs on the schedule ``serve``
  gives it (every ``alerts.deliver_interval_seconds``) until the outbox is empty;
  then unchanged cycles (every feed answers 304);
- the naive pipeline: one process, one thing at a time: httpx (sync) feed,
  feedparser, then per item httpx page, trafilatura in-process, Matcher.

CPU per stage in the bot comes from the pipeline's observer hooks (bench/stages.py:
each task's thread CPU, charged to the stage the hooks say it is in); the worker
processes report their steps' CPU with each result (``Analysis.cpu``), and their
whole CPU is read from outside (psutil). The tables are printed by
bench/pipeline_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, FarmSpec, Limits, RssSampler, code_version, farm_main, telegram_main

TOPICS = ("kazakhstan", "csto", "tokayev", "kazakhstan_unrest", "csto_deployment")


# ============================================================================ bot side
def bot_proc(conn, cfg: dict) -> None:
    """Process entry: run the real Service through the benchmark's phases."""
    from benchlib import bot_process_setup

    bot_process_setup(Path(cfg["workdir"]))
    asyncio.run(_bot_flow(conn, cfg))


async def _deliver_loop(service, observer, stop: asyncio.Event) -> None:
    """``deliver_due`` on the interval ``Service.serve`` schedules it on."""
    observer.deliver()  # this task, and the lanes it starts, count as delivery
    loop = asyncio.get_running_loop()
    interval = service.settings.alerts.deliver_interval_seconds
    due = loop.time()
    while not stop.is_set():
        await service.deliverer.deliver_due()
        due += interval
        while due < loop.time():  # max_instances=1: a tick during a round is skipped
            due += interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), due - loop.time())


def _cpu_snapshot() -> dict:
    from benchlib import process_cpu, tree_cpu

    return {
        "proc": process_cpu(),
        "loop": time.thread_time(),
        "tree": tree_cpu(os.getpid()),
        "wall": time.time(),
    }


def _cpu_delta(a: dict, b: dict) -> dict:
    """Bot process (all threads), its loop thread, the workers and the forkserver."""
    return {
        "proc": b["proc"] - a["proc"],
        "loop": b["loop"] - a["loop"],
        "workers": b["tree"]["workers"] - a["tree"]["workers"],
        "forkserver": b["tree"]["forkserver"] - a["tree"]["forkserver"],
        "wall": b["wall"] - a["wall"],
    }


async def _open_service(cfg: dict, observer) -> tuple[Any, dict]:
    """The Service, chats subscribed, feeds seen once (empty), workers warm."""
    from bot.analysis.page import read_job
    from bot.app.service import Service
    from bot.config.settings import load_settings
    from bot.core.models import Article

    service = Service(load_settings(Path(cfg["config"])), observer=observer)
    await service.open()
    for chat in cfg["chats"]:
        for topic in TOPICS:
            service.store.subs.subscribe(chat, topic)
    for chat, topics in cfg["groups"].items():
        for topic in topics:
            service.store.subs.subscribe(chat, topic)
    first = await service.once()  # first sight of the empty feeds
    # A running service has a warm pool: start the forkserver and the workers now.
    warm = (ROOT / "tests" / "corpus" / "pages" / "standard_de.html").read_bytes()
    url = "http://127.0.0.1/warm"
    job = (Article(url, "", "", "", "warm", None), warm, url)
    await asyncio.gather(
        *(service.workers.run(read_job, job) for _ in range(service.settings.extract.workers * 2))
    )
    return service, {"feeds": first.feeds, "failed": len(first.failed)}


async def _timed_cycles(service, prof) -> list[dict]:
    """The cycle(s) that process the published items (failed items are retried)."""
    cycles = []
    for _ in range(3):
        t = time.time()
        with prof:
            rep = await service.pipeline.run_cycle()
        cycles.append(
            {
                "wall": time.time() - t,
                "new": rep.new_items,
                "failed": len(rep.failed),
                "failed_kinds": dict(rep.failed_kinds),
                "matched": rep.matched,
                "alerts": rep.alerts,
                "not_modified": rep.not_modified,
            }
        )
        if not rep.failed:
            break
    return cycles


async def _drain(service, deliver: asyncio.Task, stop: asyncio.Event, limit: float) -> None:
    """Once nothing is pending (or after ``limit`` s), end delivery after its current round."""
    deadline = time.time() + limit
    while time.time() < deadline:
        if not service.store.outbox.counts().get("pending"):
            break
        await asyncio.sleep(0.2)
    stop.set()
    await deliver


async def _unchanged_cycles(service, n: int) -> list[dict]:
    """``n`` cycles in which every feed answers 304."""
    out = []
    for _ in range(n):
        u0 = _cpu_snapshot()
        rep = await service.pipeline.run_cycle()
        u1 = _cpu_snapshot()
        out.append({**_cpu_delta(u0, u1), "feeds": rep.feeds, "not_modified": rep.not_modified})
    return out


async def _bot_flow(conn, cfg: dict) -> None:
    from benchlib import profiled
    from stages import StageObserver

    observer = StageObserver()
    observer.clock.install()
    service, first = await _open_service(cfg, observer)
    conn.send(("first_sight", first))
    await asyncio.to_thread(conn.recv)  # the farm has published the items

    observer.reset()
    s0 = _cpu_snapshot()
    stop = asyncio.Event()
    deliver = asyncio.create_task(_deliver_loop(service, observer, stop))
    prof = profiled(cfg["profile"])
    cycles = await _timed_cycles(service, prof)
    s1 = _cpu_snapshot()
    await _drain(service, deliver, stop, cfg["drain_timeout"])
    s2 = _cpu_snapshot()
    observed = observer.figures()
    outbox = service.store.outbox.counts()
    unchanged = await _unchanged_cycles(service, cfg["unchanged_cycles"])
    settings = service.settings
    await service.close()
    conn.send(
        (
            "results",
            {
                "cycles": cycles,
                "cycle_cpu": _cpu_delta(s0, s1),
                "all_cpu": _cpu_delta(s0, s2),
                "observed": observed,
                "outbox": outbox,
                "t_start": s0["wall"],
                "t_cycle_end": s1["wall"],
                "t_drain_end": s2["wall"],
                "unchanged": unchanged,
                "workers": settings.extract.workers,
                "max_tasks_per_child": settings.extract.max_tasks_per_child,
                "deliver_interval": settings.alerts.deliver_interval_seconds,
                "profile": prof.text(40),
            },
        )
    )


# ========================================================================= naive side
def naive_proc(conn, feeds: list[str], unchanged_cycles: int) -> None:
    """Process entry: the naive sequential pipeline, one cycle of new items, then unchanged."""
    import resource

    naive = Naive(feeds)
    first = naive.cycle()
    first_cpu, naive.cpu = naive.cpu, dict.fromkeys(naive.cpu, 0.0)
    unchanged = [naive.cycle() for _ in range(unchanged_cycles)]
    conn.send(
        {
            "first": first,
            "stages": first_cpu,
            "unchanged": unchanged,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    )


class Naive:
    """One thing at a time: feed, parse, then per item page, trafilatura, match."""

    def __init__(self, feeds: list[str]) -> None:
        import httpx

        from bot.analysis.extract import extract_text
        from bot.core.models import Article
        from bot.rules.file import load_rules
        from bot.rules.matcher import Matcher

        self.extract_text, self.article = extract_text, Article
        self.feeds = feeds
        self.matcher = Matcher(load_rules(ROOT / "config" / "rules.yaml"))
        self.client = httpx.Client(
            timeout=30, follow_redirects=True, headers={"User-Agent": "naive"}
        )
        self.seen: set[str] = set()
        self.cpu = dict.fromkeys(("fetch feed", "parse", "fetch page", "extract", "match"), 0.0)

    def clocked(self, stage: str, fn, *args):
        """``fn(*args)``, its thread CPU added to ``stage``."""
        t = time.thread_time()
        try:
            return fn(*args)
        finally:
            self.cpu[stage] += time.thread_time() - t

    def cycle(self) -> dict:
        """Every feed, every item not seen before: wall, CPU, articles, match latencies."""
        import io

        import feedparser
        from benchlib import process_cpu

        t0, p0 = time.time(), process_cpu()
        latencies, articles, matched = [], 0, 0
        for url in self.feeds:
            resp = self.clocked("fetch feed", self.client.get, url)
            served = time.time()
            parsed = self.clocked("parse", feedparser.parse, io.BytesIO(resp.content))
            for e in parsed.entries:
                key = e.get("id") or e.get("link")
                if key in self.seen:
                    continue
                found = self.item(e, url)
                self.seen.add(key)
                articles += 1
                matched += bool(found)
                if found:
                    latencies.append(time.time() - served)
        return {
            "wall": time.time() - t0,
            "cpu": process_cpu() - p0,
            "articles": articles,
            "matched": matched,
            "latencies": latencies,
        }

    def item(self, e, feed_url: str) -> list:
        """Fetch, extract and match one item: its matches."""
        page = self.clocked("fetch page", self.client.get, e.link)
        text = self.clocked("extract", self.extract_text, page.content, str(page.url))
        article = self.article(
            e.link, e.get("title", ""), e.get("summary", ""), text or "", feed_url, None
        )
        return self.clocked("match", self.matcher.match, article)


# ======================================================================= orchestration
def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=50)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="10 feeds × 20 items")
    ap.add_argument("--burst", type=int, default=0, help="total articles (sets --feeds)")
    ap.add_argument("--chats", type=int, default=40, help="private chats, all topics")
    ap.add_argument("--groups", type=int, default=1, help="groups, subscribed to csto")
    ap.add_argument("--on-topic", type=float, default=0.05)
    ap.add_argument("--teaser-share", type=float, default=0.10)
    ap.add_argument("--host-interval", type=float, default=0.05)
    ap.add_argument("--unchanged-cycles", type=int, default=5)
    ap.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="server think time per response (0: pure CPU comparison)",
    )
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the bot's event loop during the timed cycle (slows it)",
    )
    ap.add_argument("--no-gzip", action="store_true")
    ap.add_argument("--seed", type=int, default=840)
    args = ap.parse_args()
    if args.quick:
        args.feeds, args.items = 10, 20
    if args.burst:
        args.feeds = -(-args.burst // args.items)
    args.chat_ids = [1000 + i for i in range(args.chats)]
    args.group_ids = [-100_000_001 - i for i in range(args.groups)]
    return args


class Helpers:
    """The farm and the fake Bot API, each in its own process."""

    def __init__(self, ctx: Any, args: argparse.Namespace, limits: Limits) -> None:
        self.farm_conn, farm_end = ctx.Pipe()
        spec = FarmSpec(
            args.feeds,
            args.items,
            seed=args.seed,
            on_topic=args.on_topic,
            teaser_share=args.teaser_share,
            gzip=not args.no_gzip,
            latency=args.latency_ms / 1e3,
        )
        self.farm = ctx.Process(target=farm_main, args=(farm_end, spec), daemon=True)
        self.farm.start()
        self.tg_conn, tg_end = ctx.Pipe()
        self.tg = ctx.Process(target=telegram_main, args=(tg_end, limits), daemon=True)
        self.tg.start()
        self.tg_url = self.tg_conn.recv()
        _, self.farm_info = self.farm_conn.recv()

    def cpu(self) -> dict[str, float]:
        return {"farm": _cpu_of(self.farm.pid), "telegram fake": _cpu_of(self.tg.pid)}

    def stats(self) -> tuple[dict, dict]:
        """What the farm served and what the fake Bot API was sent."""
        self.farm_conn.send("stats")
        self.tg_conn.send("stats")
        return self.farm_conn.recv(), self.tg_conn.recv()

    def stop(self) -> None:
        self.farm_conn.send("stop")
        self.tg_conn.send("stop")
        self.farm.join(timeout=10)
        self.tg.join(timeout=10)


def _run_bot(ctx: Any, args: argparse.Namespace, helpers: Helpers) -> dict[str, Any]:
    """The bot process through its phases; its results, RSS samples and log errors."""
    from benchlib import write_config

    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        work = Path(tmp)
        feeds = helpers.farm_info["feeds"]
        config = write_config(work, feeds, helpers.tg_url, host_interval=args.host_interval)
        cfg = {
            "workdir": str(work),
            "config": str(config),
            "chats": args.chat_ids,
            "groups": {g: ["csto"] for g in args.group_ids},
            "drain_timeout": 900,
            "unchanged_cycles": args.unchanged_cycles,
            "profile": args.profile,
        }
        bot_conn, bot_end = ctx.Pipe()
        bot = ctx.Process(target=bot_proc, args=(bot_end, cfg))
        bot.start()
        rss = RssSampler(bot.pid).start()
        _, first = bot_conn.recv()
        print(f"first sight done ({first}); publishing items", flush=True)
        cpu0 = helpers.cpu()
        helpers.farm_conn.send("publish")
        helpers.farm_conn.recv()
        bot_conn.send("go")
        _, result = bot_conn.recv()
        bot.join(timeout=60)
        rss.stop()
        result["helper_cpu"] = {k: v - cpu0[k] for k, v in helpers.cpu().items()}
        result["rss"] = rss
        log = (work / "bot.log").read_text(errors="replace").splitlines()
        result["errors"] = [ln for ln in log if " ERROR " in ln]
    print(
        f"bot done: cycle {sum(c['wall'] for c in result['cycles']):.1f} s, drain "
        f"{result['t_drain_end'] - result['t_cycle_end']:.1f} s",
        flush=True,
    )
    return result


def _run_naive(ctx: Any, args: argparse.Namespace, helpers: Helpers) -> tuple[dict, tuple]:
    """The naive pipeline over the same farm (every item is new to it): results, peak memory."""
    print("running the naive sequential pipeline …", flush=True)
    n_conn, n_end = ctx.Pipe()
    feeds = helpers.farm_info["feeds"]
    proc = ctx.Process(target=naive_proc, args=(n_end, feeds, min(args.unchanged_cycles, 2)))
    proc.start()
    nrss = RssSampler(proc.pid).start()
    farm_cpu0 = _cpu_of(helpers.farm.pid)
    naive = n_conn.recv()
    naive["farm_cpu"] = _cpu_of(helpers.farm.pid) - farm_cpu0
    proc.join(timeout=60)
    nrss.stop()
    peak = nrss.peak()
    return naive, (max(peak[0], naive["maxrss"]), peak[1])


def _cpu_of(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _error_kinds(errors: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for line in errors:
        key = " ".join(line.split()[2:4])[:120]
        kinds[key] = kinds.get(key, 0) + 1
    return kinds


def main() -> None:
    from pipeline_report import Run, report

    args = _args()
    limits = Limits()
    ctx = multiprocessing.get_context("spawn")
    started = time.time()
    print(f"generating {args.feeds * args.items} articles on {args.feeds} hosts …", flush=True)
    helpers = Helpers(ctx, args, limits)
    print(f"farm ready in {time.time() - started:.1f} s", flush=True)
    bot = _run_bot(ctx, args, helpers)
    farm_stats, tg_stats = helpers.stats()
    naive, naive_rss = _run_naive(ctx, args, helpers) if not args.no_naive else (None, None)
    helpers.stop()

    run = Run(args, helpers.farm_info, farm_stats, tg_stats, bot, naive, naive_rss, limits)
    cmd = " ".join([".venv/bin/python", "bench/pipeline_bench.py", *sys.argv[1:]])
    print()
    print(cmd)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"total bench time {time.time() - started:.0f} s; {code_version()}"
    )
    print(report(run))
    if bot.get("profile"):
        print("\ncProfile of the bot process during the timed cycle (own time):")
        print(bot["profile"])
    if bot["errors"]:
        print(f"{len(bot['errors'])} ERROR lines in the bot's log: {_error_kinds(bot['errors'])}")


if __name__ == "__main__":
    main()
