"""Unchanged-feeds benchmark: 1,000 feeds that all answer 304, and memory over 100 cycles.

Run: ``.venv/bin/python bench/unchanged_bench.py [--feeds 1000 --cycles 100]``.
It prints figures and asserts nothing. Needs psutil.

The farm (bench/benchlib.py, its own process) serves ``--feeds`` feeds, one per
loopback host (127.0.1.1 … 127.0.254.1, 127.1.1.1, …), 10 items each, with an
ETag. The bot (its own process; Service as tests/conftest.py's Harness builds
it) records them at first sight, then runs ``Pipeline.run_cycle`` over and over:
every feed is fetched conditionally and answers 304. Printed: the wall time and
CPU of an unchanged cycle, CPU by stage (through the pipeline's observer hooks,
bench/stages.py), and the bot's RSS after each of the ``--cycles`` cycles
(min/max and spread).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import FarmSpec, Limits, RssSampler, code_version, farm_main, telegram_main

MB = 1024 * 1024


def bot_proc(conn, cfg: dict) -> None:
    from benchlib import bot_process_setup

    bot_process_setup(Path(cfg["workdir"]))
    asyncio.run(_flow(conn, cfg))


async def _timed_cycle(service, observer) -> dict:
    """One unchanged cycle: wall, CPU (process, loop thread) and CPU by stage."""
    from benchlib import process_cpu

    observer.reset()
    p0, l0, t0 = process_cpu(), time.thread_time(), time.time()
    rep = await service.pipeline.run_cycle()
    p1, l1, t1 = process_cpu(), time.thread_time(), time.time()
    return {
        "wall": t1 - t0,
        "cpu": p1 - p0,
        "loop": l1 - l0,
        "feeds": rep.feeds,
        "not_modified": rep.not_modified,
        "failed": len(rep.failed),
        "stages": dict(observer.clock.ns),
    }


async def _flow(conn, cfg: dict) -> None:
    import psutil
    import sqlalchemy as sa
    from benchlib import profiled
    from stages import StageObserver

    from bot.app.service import Service
    from bot.config.settings import load_settings
    from bot.store.schema import items

    observer = StageObserver()
    observer.clock.install()
    me = psutil.Process()
    service = Service(load_settings(Path(cfg["config"])), observer=observer)
    await service.open()
    t = time.time()
    first = await service.pipeline.run_cycle()  # first sight: every feed's 10 items recorded
    first_wall = time.time() - t
    with service.store.engine.connect() as c:
        recorded = c.scalar(sa.select(sa.func.count()).select_from(items))
    timed = [await _timed_cycle(service, observer) for _ in range(cfg["timed"])]
    with profiled(cfg["profile"]) as prof:
        await service.pipeline.run_cycle()
    series = []
    for _ in range(cfg["cycles"]):
        t0 = time.time()
        rep = await service.pipeline.run_cycle()
        series.append((time.time() - t0, me.memory_info().rss, rep.not_modified, len(rep.failed)))
    await service.close()
    conn.send(
        {
            "first": {
                "wall": first_wall,
                "feeds": first.feeds,
                "items": recorded,
                "failed": len(first.failed),
            },
            "profile": prof.text(35),
            "timed": timed,
            "series": series,
        }
    )


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--timed", type=int, default=5, help="cycles timed for wall/CPU")
    ap.add_argument("--host-interval", type=float, default=0.05)
    ap.add_argument("--profile", action="store_true", help="cProfile one unchanged cycle")
    return ap.parse_args()


def _run(args: argparse.Namespace) -> tuple[dict, dict, RssSampler]:
    """The farm, the fake Bot API and the bot, each in its own process: the bot's results."""
    from benchlib import write_config

    ctx = multiprocessing.get_context("spawn")
    farm_conn, farm_end = ctx.Pipe()
    spec = FarmSpec(args.feeds, 10, start_full=True, pages=False)
    farm = ctx.Process(target=farm_main, args=(farm_end, spec), daemon=True)
    farm.start()
    tg_conn, tg_end = ctx.Pipe()
    tg = ctx.Process(target=telegram_main, args=(tg_end, Limits()), daemon=True)
    tg.start()
    tg_url = tg_conn.recv()
    _, info = farm_conn.recv()
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        config = write_config(Path(tmp), info["feeds"], tg_url, host_interval=args.host_interval)
        cfg = {
            "workdir": tmp,
            "config": str(config),
            "cycles": args.cycles,
            "timed": args.timed,
            "profile": args.profile,
        }
        conn, end = ctx.Pipe()
        bot = ctx.Process(target=bot_proc, args=(end, cfg))
        bot.start()
        rss = RssSampler(bot.pid, interval=0.2).start()
        res = conn.recv()
        bot.join(timeout=60)
        rss.stop()
    farm_conn.send("stats")
    counts = farm_conn.recv()["counts"]
    farm_conn.send("stop")
    tg_conn.send("stop")
    farm.join(timeout=10)
    tg.join(timeout=10)
    return res, counts, rss


def _print_setup(args: argparse.Namespace, res: dict, counts: dict, started: float) -> None:
    feeds = res["timed"][0]["feeds"]
    print(" ".join([".venv/bin/python", "bench/unchanged_bench.py", *sys.argv[1:]]))
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"total bench time {time.time() - started:.0f} s; {code_version()}"
    )
    print(
        f"{feeds} feeds on {feeds} loopback hosts, 10 items each; per-host interval "
        f"{args.host_interval:g} s, production fetch limits (max_concurrency 10)"
    )
    first = res["first"]
    print(
        f"first sight: {first['wall']:.2f} s, {first['items']} item keys recorded, "
        f"{first['failed']} feeds failed"
    )
    print("  (first-sight items are recorded without alerting)")
    print(f"farm answered: {counts}")


def _print_cycle(timed: list[dict]) -> float:
    """The timed cycles' medians, CPU by stage; returns the median wall time."""
    from stages import STAGES

    feeds = timed[0]["feeds"]
    wall = statistics.median(c["wall"] for c in timed)
    cpu = statistics.median(c["cpu"] for c in timed)
    loop = statistics.median(c["loop"] for c in timed)
    print(
        f"unchanged cycle ({timed[0]['not_modified']} of {feeds} answered 304, "
        f"median of {len(timed)})"
    )
    print(f"  wall                          {wall * 1e3:8.0f} ms")
    print(f"  CPU, bot process              {cpu * 1e3:8.0f} ms  ({cpu * 1e3 / feeds:.2f} ms/feed)")
    print(f"  CPU, event-loop thread        {loop * 1e3:8.0f} ms")
    stages = {k: statistics.median(c["stages"].get(k, 0) for c in timed) / 1e6 for k in STAGES}
    for k, v in stages.items():
        if v:
            print(f"    {k:26} {v:8.1f} ms  ({v / feeds:.3f} ms/feed)")
    rest = loop * 1e3 - sum(stages.values())
    print(f"    {'loop glue (unattributed)':26} {rest:8.1f} ms")
    print(f"    {'other threads':26} {(cpu - loop) * 1e3:8.1f} ms")
    return wall


def _print_series(series: list[tuple], rss: RssSampler) -> float:
    """Wall and RSS over the long run; returns the largest RSS deviation from the median."""
    walls = [s[0] for s in series]
    rsses = [s[1] for s in series]
    mid = statistics.median(rsses)
    spread = (max(rsses) - min(rsses)) / mid
    dev = max(max(rsses) / mid - 1, 1 - min(rsses) / mid)
    print(
        f"{len(series)} more unchanged cycles: wall min {min(walls) * 1e3:.0f} / median "
        f"{statistics.median(walls) * 1e3:.0f} / max {max(walls) * 1e3:.0f} ms; "
        f"{sum(s[3] for s in series)} feed failures"
    )
    print(
        f"  bot RSS after each cycle: min {min(rsses) / MB:.1f} MB, max {max(rsses) / MB:.1f} MB,"
        f" first {rsses[0] / MB:.1f}, last {rsses[-1] / MB:.1f}; spread {100 * spread:.1f} %"
    )
    tenth = max(1, len(rsses) // 10)
    print(
        "  RSS by tenth of the run, MB: "
        + " ".join(f"{rsses[i] / MB:.1f}" for i in range(0, len(rsses), tenth))
    )
    print(f"  peak RSS of the bot's process tree over the whole run: {rss.peak()[0] / MB:.0f} MB")
    return dev


def main() -> None:
    args = _args()
    started = time.time()
    res, counts, rss = _run(args)
    _print_setup(args, res, counts, started)
    print()
    wall = _print_cycle(res["timed"])
    print()
    dev = _print_series(res["series"], rss)
    feeds = res["timed"][0]["feeds"]
    print()
    print("targets")
    ok = wall <= 1.0
    print(
        f"  1,000 unchanged feeds polled in ≤ 1 s wall: {wall:.2f} s "
        f"({feeds} feeds) -> {'met' if ok and feeds >= 1000 else 'MISSED'}"
    )
    print(
        f"  RSS flat (±5 %) over {len(res['series'])} unchanged cycles: within ±{100 * dev:.1f} % "
        f"of the median -> {'met' if dev <= 0.05 else 'MISSED'}"
    )
    if res["profile"]:
        print("\ncProfile of one unchanged cycle (own time; profiling inflates it):")
        print(res["profile"])


if __name__ == "__main__":
    main()
