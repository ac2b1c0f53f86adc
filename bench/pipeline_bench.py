"""Pipeline benchmark: ``newsbot run`` as shipped against a naive sequential pipeline.

Run: ``.venv/bin/python bench/pipeline_bench.py [--quick] [--runs 3]``. It prints
figures and asserts nothing (a benchmark is not a test). Needs psutil. Runs in a
plain clone (everything it reads is in the repository).

Three farms in the same run, each freshly built (bench/farmgen.py pages, ~80 kB,
one outlet per loopback host, gzip, ETag/304):

- realistic: 25 % of pages mention a topic, 10 % in the article (they match) and
  15 % in a sidebar teaser only (the pre-filter must let them through, extraction
  finds no match). Why 25 %: of the 42 shipped feeds (config/feeds.yaml), 11 are
  Central Asian outlets (5 of them Kazakh, whose page chrome names Kazakhstan or
  Astana on nearly every page; 6 regional, ~40 %), 9 Russian-language (~10 %) and
  22 foreign desks and broadcasters (~3 %): (5 + 6×0.4 + 9×0.1 + 22×0.03) / 42 ≈ 21 %,
  rounded up because the Kazakh outlets publish more than a foreign desk;
- worst: every page mentions a topic (the pre-filter skips nothing), the same
  10 % match (the same articles: the delivery load is the realistic farm's);
- none: no page mentions a topic (the pre-filter skips every extraction).

For each farm: the bot (bench/shipped.py: ``newsbot run``, shipped settings except
those in ``shipped.CHANGED``), then the naive pipeline (bench/naive.py) over the
same farm, then the alerts of both compared. The burst is the first poll of
feeds whose items are all new and young. Tables: bench/pipeline_report.py.
"""

from __future__ import annotations

import argparse
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

from benchlib import FarmSpec, Limits, code_version, farm_main, telegram_main

TOPICS = ("kazakhstan", "csto", "tokayev", "kazakhstan_unrest", "csto_deployment")
# farm: (share of articles on a topic, share of the other pages with a topic teaser)
FARMS = {"realistic": (0.10, 0.15 / 0.90), "worst": (0.10, 1.0), "none": (0.0, 0.0)}


class Helpers:
    """The farm and the rate-limited fake Bot API, each in its own process."""

    def __init__(self, ctx: Any, spec: FarmSpec, limits: Limits) -> None:
        self.farm_conn, farm_end = ctx.Pipe()
        self.farm = ctx.Process(target=farm_main, args=(farm_end, spec), daemon=True)
        self.farm.start()
        self.tg_conn, tg_end = ctx.Pipe()
        self.tg = ctx.Process(target=telegram_main, args=(tg_end, limits), daemon=True)
        self.tg.start()
        self.tg_url = self.tg_conn.recv()
        _, self.farm_info = self.farm_conn.recv()

    def stats(self) -> tuple[dict, dict]:
        self.farm_conn.send("stats")
        self.tg_conn.send("stats")
        return self.farm_conn.recv(), self.tg_conn.recv()

    def stop(self) -> None:
        self.farm_conn.send("stop")
        self.tg_conn.send("stop")
        self.farm.join(timeout=10)
        self.tg.join(timeout=10)


def one_farm(ctx: Any, args: argparse.Namespace, farm: str, run: int) -> dict[str, Any]:
    """The bot, then the naive pipeline, over one freshly built farm."""
    from naive import naive_proc
    from shipped import run_bot

    on_topic, teaser = FARMS[farm]
    spec = FarmSpec(
        args.feeds,
        args.items,
        seed=args.seed + run,
        on_topic=on_topic,
        teaser_share=teaser,
        start_full=True,
    )
    helpers = Helpers(ctx, spec, Limits())
    chats = {1000 + i: TOPICS for i in range(args.chats)}
    chats[-100_000_001] = ("csto",)
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-pbench-") as tmp:
            feeds = helpers.farm_info["feeds"]
            total = args.feeds * args.items
            bot = run_bot(Path(tmp), feeds, helpers.tg_url, chats, total, args.host_interval)
        farm_stats, tg = helpers.stats()
        n_conn, n_end = ctx.Pipe()
        proc = ctx.Process(target=naive_proc, args=(n_end, feeds))
        proc.start()
        naive = n_conn.recv()
        proc.join(timeout=60)
    finally:
        helpers.stop()
    return {"farm": farm, "bot": bot, "farm_stats": farm_stats, "tg": tg, "naive": naive}


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=100)
    ap.add_argument("--items", type=int, default=5, help="new items per feed in the burst")
    ap.add_argument("--quick", action="store_true", help="40 feeds × 5 items")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--farms", default=",".join(FARMS), help="comma-separated subset")
    ap.add_argument("--chats", type=int, default=30, help="private chats, all topics (+1 group)")
    ap.add_argument("--seed", type=int, default=840)
    ap.add_argument(
        "--host-interval",
        type=float,
        default=None,
        help="fetch.per_host_interval_seconds (default: the shipped 1 s; the report says so)",
    )
    args = ap.parse_args()
    if args.quick:
        args.feeds, args.items = 40, 5
    return args


def main() -> None:
    from pipeline_report import report

    args = _args()
    ctx = multiprocessing.get_context("spawn")
    started = time.time()
    results = []
    for run in range(args.runs):
        for farm in args.farms.split(","):
            t = time.time()
            results.append(one_farm(ctx, args, farm, run))
            print(f"run {run + 1} {farm}: {time.time() - t:.0f} s", flush=True)
    cmd = " ".join([".venv/bin/python", "bench/pipeline_bench.py", *sys.argv[1:]])
    print()
    print(cmd)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (shared with other "
        f"work: figures are noisy), {platform.python_implementation()} "
        f"{platform.python_version()}, total {time.time() - started:.0f} s; {code_version()}"
    )
    print(report(args, results, Limits()))


if __name__ == "__main__":
    main()
