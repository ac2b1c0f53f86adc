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

CPU per stage in the bot: thread CPU time around every step of the stage's
functions and coroutines (``benchlib.instrument``), exclusive of nested stages;
extraction CPU is measured inside the worker processes (bench/_xprobe.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from _xprobe import WORKER_STAGES
from benchlib import (
    ROOT,
    STAGES,
    FarmSpec,
    Limits,
    RssSampler,
    code_version,
    farm_main,
    percentile,
    telegram_main,
)

TOPICS = ("kazakhstan", "csto", "tokayev", "kazakhstan_unrest", "csto_deployment")
MB = 1024 * 1024


# ============================================================================ bot side
def bot_proc(conn, cfg: dict) -> None:
    """Process entry: run the real Service through the benchmark's phases."""
    from benchlib import bot_process_setup

    work = Path(cfg["workdir"])
    bot_process_setup(work, Path(cfg["probe_dir"]))
    asyncio.run(_bot_flow(conn, cfg))


async def _deliver_loop(service, stop: asyncio.Event) -> None:
    """``deliver_due`` on the interval ``Service.serve`` schedules it on."""
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


def _cpu_snapshot(probe_dir: str) -> dict:
    from _xprobe import read_probes
    from benchlib import process_cpu, tree_cpu

    return {
        "proc": process_cpu(),
        "loop": time.thread_time(),
        "probes": read_probes(probe_dir),
        "tree": tree_cpu(os.getpid()),
        "wall": time.time(),
    }


def _cpu_delta(a: dict, b: dict) -> dict:
    """Bot process (all threads), its loop thread, and the workers (by stage) + forkserver."""
    worker_cpu = 0.0
    stages: dict[str, float] = {}
    calls: dict[str, int] = {}
    for pid, probe in b["probes"].items():
        before = a["probes"].get(pid, {"calls": {}, "ns": {}, "cpu": 0.0})
        end_cpu = b["tree"].get(pid, probe["cpu"])  # a live worker: its CPU now, else last report
        worker_cpu += end_cpu - a["tree"].get(pid, before["cpu"])
        for stage, ns in probe["ns"].items():
            stages[stage] = stages.get(stage, 0.0) + (ns - before["ns"].get(stage, 0)) / 1e9
        for stage, n in probe["calls"].items():
            calls[stage] = calls.get(stage, 0) + n - before["calls"].get(stage, 0)
    me = os.getpid()
    others = sum(
        cpu - a["tree"].get(pid, 0.0)
        for pid, cpu in b["tree"].items()
        if pid != me and pid not in b["probes"]
    )  # the forkserver (forking recycled workers)
    return {
        "proc": b["proc"] - a["proc"],
        "loop": b["loop"] - a["loop"],
        "workers": worker_cpu,
        "worker_stages": stages,
        "worker_calls": calls,
        "forkserver": others,
        "trafilatura": stages.get("extract", 0.0),
        "extractions": calls.get("extract", 0),
        "wall": b["wall"] - a["wall"],
    }


async def _bot_flow(conn, cfg: dict) -> None:
    from benchlib import instrument, profiled

    from bot.analysis.page import read_job
    from bot.app.service import Service
    from bot.config.settings import load_settings
    from bot.core.models import Article

    inst = instrument()
    settings = load_settings(Path(cfg["config"]))
    service = Service(settings)
    await service.open()
    for chat in cfg["chats"]:
        for topic in TOPICS:
            service.store.subs.subscribe(chat, topic)
    for chat, topics in cfg["groups"].items():
        for topic in topics:
            service.store.subs.subscribe(chat, topic)
    first = await service.once()  # first sight of the empty feeds
    # A running service has a warm pool: start the forkserver and the workers now.
    warm = (ROOT / "tests" / "corpus" / "pages" / "seed_de.html").read_bytes()
    workers = settings.extract.workers

    async def warm_one() -> None:
        url = "http://127.0.0.1/warm"
        await service.workers.run(read_job, (Article(url, "", "", "", "warm", None), warm, url))

    await asyncio.gather(*(warm_one() for _ in range(workers * 2)))
    conn.send(("first_sight", {"feeds": first.feeds, "failed": len(first.failed)}))
    await asyncio.to_thread(conn.recv)  # the farm has published the items

    inst.clock.reset()
    inst.enqueued.clear()
    s0 = _cpu_snapshot(cfg["probe_dir"])
    stop = asyncio.Event()
    deliver = asyncio.create_task(_deliver_loop(service, stop))
    cycles = []
    prof = profiled(cfg["profile"])
    for _ in range(3):  # items that failed are retried by the next cycle
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
    s1 = _cpu_snapshot(cfg["probe_dir"])
    stages_cycle = dict(inst.clock.ns)
    calls_cycle = dict(inst.clock.calls)
    deadline = time.time() + cfg["drain_timeout"]
    while time.time() < deadline:
        counts = service.store.outbox.counts()
        if not counts.get("pending") and not service.deliverer._lock.locked():
            break
        await asyncio.sleep(0.2)
    stop.set()
    await deliver
    s2 = _cpu_snapshot(cfg["probe_dir"])
    outbox = service.store.outbox.counts()
    stages_all = dict(inst.clock.ns)
    calls_all = dict(inst.clock.calls)

    unchanged = []
    for _ in range(cfg["unchanged_cycles"]):
        u0 = _cpu_snapshot(cfg["probe_dir"])
        rep = await service.pipeline.run_cycle()
        u1 = _cpu_snapshot(cfg["probe_dir"])
        unchanged.append(
            {**_cpu_delta(u0, u1), "feeds": rep.feeds, "not_modified": rep.not_modified}
        )
    result = {
        "cycles": cycles,
        "cycle_cpu": _cpu_delta(s0, s1),
        "all_cpu": _cpu_delta(s0, s2),
        "stages_cycle": stages_cycle,
        "stages_all": stages_all,
        "calls_cycle": calls_cycle,
        "calls_all": calls_all,
        "enqueued": list(inst.enqueued),
        "outbox": outbox,
        "t_start": s0["wall"],
        "t_cycle_end": s1["wall"],
        "t_drain_end": s2["wall"],
        "unchanged": unchanged,
        "workers": workers,
        "max_tasks_per_child": settings.extract.max_tasks_per_child,
        "deliver_interval": settings.alerts.deliver_interval_seconds,
        "profile": prof.text(40),
    }
    await service.close()
    conn.send(("results", result))


# ========================================================================= naive side
def naive_proc(conn, feeds: list[str], unchanged_cycles: int) -> None:
    """Process entry: the naive sequential pipeline, one cycle of new items, then unchanged."""
    import io

    import feedparser
    import httpx
    from benchlib import process_cpu

    from bot.analysis.extract import extract_text
    from bot.core.models import Article
    from bot.rules.file import load_rules
    from bot.rules.matcher import Matcher

    matcher = Matcher(load_rules(ROOT / "config" / "rules.yaml"))
    client = httpx.Client(timeout=30, follow_redirects=True, headers={"User-Agent": "naive"})
    seen: set[str] = set()
    cpu = dict.fromkeys(("fetch feed", "parse", "fetch page", "extract", "match"), 0.0)

    def clocked(stage: str, fn, *args):
        t = time.thread_time()
        try:
            return fn(*args)
        finally:
            cpu[stage] += time.thread_time() - t

    def cycle() -> dict:
        t0, p0 = time.time(), process_cpu()
        latencies, articles, matched = [], 0, 0
        for url in feeds:
            resp = clocked("fetch feed", client.get, url)
            served = time.time()
            parsed = clocked("parse", feedparser.parse, io.BytesIO(resp.content))
            for e in parsed.entries:
                key = e.get("id") or e.get("link")
                if key in seen:
                    continue
                page = clocked("fetch page", client.get, e.link)
                text = clocked("extract", extract_text, page.content, str(page.url))
                article = Article(
                    e.link, e.get("title", ""), e.get("summary", ""), text or "", url, None
                )
                found = clocked("match", matcher.match, article)
                seen.add(key)
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

    first = cycle()
    first_cpu = dict(cpu)
    for k in cpu:
        cpu[k] = 0.0
    unchanged = [cycle() for _ in range(unchanged_cycles)]
    import resource

    conn.send(
        {
            "first": first,
            "stages": first_cpu,
            "unchanged": unchanged,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    )


# ========================================================================= reporting
def ideal_delivery_end(enqueued: list, limits: Limits) -> float:
    """A lower bound on when the last alert could have been sent within Telegram's
    limits, given when each alert was queued: the slowest of the overall 30/s
    limit and each chat's own limit."""
    if not enqueued:
        return float("nan")
    times = sorted(t for t, _, _ in enqueued)
    sent: list[float] = []
    for t in times:  # overall: at most `overall` sends in any second
        if len(sent) >= limits.overall:
            t = max(t, sent[-limits.overall] + 1.0)
        sent.append(t)
    end = sent[-1]
    by_chat: dict[int, list[float]] = {}
    for t, chat, _ in enqueued:
        by_chat.setdefault(chat, []).append(t)
    for chat, ts in by_chat.items():
        done: list[float] = []
        for t in sorted(ts):
            if done:
                t = max(t, done[-1] + limits.per_chat_seconds)
            if chat < 0 and len(done) >= limits.group:
                t = max(t, done[-limits.group] + 60.0)
            done.append(t)
        end = max(end, done[-1])
    return end


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any ``window`` seconds."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _cpu_of(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def fmt(v: float, spec: str = ".1f") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return format(v, spec)


def ratio(a: float, b: float) -> str:
    if not a or not b or a != a or b != b:
        return "–"
    return f"{a / b:.2f}×"


def report(args, farm_info, farm_stats, tg, bot, naive, rss, naive_rss, limits) -> str:
    labels = farm_info["labels"]
    cyc = bot["cycles"]
    recorded = sum(c["new"] for c in cyc)
    cycle_wall = sum(c["wall"] for c in cyc)
    bot_rate = recorded / cycle_wall if cycle_wall else 0
    nf = naive["first"] if naive else None
    naive_rate = nf["articles"] / nf["wall"] if nf else None
    cc, ca = bot["cycle_cpu"], bot["all_cpu"]
    n = max(recorded, 1)
    extracted = ca["extractions"]
    fetched = bot["calls_all"].get("fetch page", 0)
    # Extraction floor: trafilatura CPU per article (measured in-process by the naive
    # run; the bot's workers as a fallback) spread over 2 cores.
    if nf and naive["stages"]["extract"]:
        extract_cpu = naive["stages"]["extract"] / nf["articles"]
        floor_src = "naive, in-process"
    else:
        extract_cpu = ca["trafilatura"] / max(extracted, 1)
        floor_src = "bot workers"
    floor_rate = 2 / extract_cpu if extract_cpu else float("nan")

    lines = []
    w = lines.append
    on_topic = sum(1 for v in labels.values() if v[0])
    teasers = sum(1 for v in labels.values() if v[1])
    w(
        f"farm: {args.feeds} feeds × {args.items} items = {len(labels)} articles on "
        f"{args.feeds} loopback hosts; pages {farm_info['raw_page_mean'] / 1000:.0f} kB "
        f"({farm_info['sent_page_mean'] / 1000:.0f} kB gzip); {on_topic} on-topic, "
        f"{teasers} off-topic with an on-topic sidebar teaser; generated in "
        f"{farm_info['gen_seconds']:.1f} s"
    )
    w(
        f"bot: {bot['workers']} extraction workers (recycled every "
        f"{bot['max_tasks_per_child']} pages), deliver_due every {bot['deliver_interval']:g} s, "
        f"per-host interval {args.host_interval:g} s; {len(args.chat_ids)} private chats "
        f"(all topics) + {len(args.group_ids)} group(s) (csto); farm latency "
        f"{args.latency_ms:g} ms"
    )
    w("")
    w(f"{'':52} {'bot':>10} {'naive':>10} {'bot/naive':>10}")

    def row(name: str, b, nv=None, r: str | None = None, spec: str = ".1f") -> None:
        w(
            f"{name:52} {fmt(b, spec):>10} {fmt(nv, spec) if nv is not None else '':>10} "
            f"{r if r is not None else (ratio(b, nv) if nv is not None else ''):>10}"
        )

    row("new articles processed", recorded, nf["articles"] if nf else None, spec=".0f")
    row("cycle wall time, s", cycle_wall, nf["wall"] if nf else None)
    row("throughput, articles/s", bot_rate, naive_rate)
    row(
        "matched articles",
        sum(c["matched"] for c in cyc),
        nf["matched"] if nf else None,
        spec=".0f",
    )
    w("")
    w("CPU per new article, ms (bot: timed cycle(s) + delivery drain)")
    ns = bot["stages_all"]
    naive_map = {
        "fetch feed": "fetch feed",
        "parse": "parse",
        "fetch page": "fetch page",
        "match": "match",
    }
    attributed = 0.0
    for stage in STAGES:
        v = ns.get(stage, 0) / 1e6
        attributed += v / 1e3
        if stage not in ns and stage not in naive_map:
            continue
        nv = (
            naive["stages"][naive_map[stage]] * 1e3 / nf["articles"]
            if nf and stage in naive_map
            else None
        )
        row(f"  {stage}", v / n, nv, spec=".2f")
    row(
        "  worker processes (all their CPU)",
        ca["workers"] * 1e3 / n,
        naive["stages"]["extract"] * 1e3 / nf["articles"] if nf else None,
        spec=".2f",
    )
    ws = ca["worker_stages"]
    for stage in WORKER_STAGES:
        label = "trafilatura" if stage == "extract" else stage
        row(f"    {label}", ws.get(stage, 0.0) * 1e3 / n, spec=".2f")
    in_stages = sum(ws.get(s, 0.0) for s in WORKER_STAGES)
    row("    other (IPC, unpickling, start-up)", (ca["workers"] - in_stages) * 1e3 / n, spec=".2f")
    row("  forkserver (re-forking workers)", ca["forkserver"] * 1e3 / n, spec=".2f")
    row(
        "  event loop, asyncio, httpx glue (unattributed)",
        (ca["loop"] - attributed) * 1e3 / n,
        spec=".2f",
    )
    row("  other threads (pool IPC, DNS threads)", (ca["proc"] - ca["loop"]) * 1e3 / n, spec=".2f")
    bot_total = ca["proc"] + ca["workers"] + ca["forkserver"]
    naive_total = nf["cpu"] / nf["articles"] * 1e3 if nf else None
    row("  TOTAL CPU per article", bot_total * 1e3 / n, naive_total, spec=".2f")
    cycle_total = cc["proc"] + cc["workers"] + cc["forkserver"]
    row("    of which during the timed cycle(s)", cycle_total * 1e3 / n, spec=".2f")
    row("    bot process alone (event-loop thread + others)", ca["proc"] * 1e3 / n, spec=".2f")
    w(
        f"  during the timed cycle(s): bot process busy {100 * cc['proc'] / cycle_wall:.0f} % "
        f"of one core (event-loop thread {100 * cc['loop'] / cycle_wall:.0f} %), extraction "
        f"workers {100 * cc['workers'] / cycle_wall / 2:.0f} % of two cores"
    )
    wc = ca["worker_calls"]
    w(
        f"  pages fetched {fetched}, analysed in workers {wc.get('job', 0)}, extractions run "
        f"{extracted} (pre-filter said no to {wc.get('prefilter:False', 0)}, "
        f"could match {wc.get('prefilter:True', 0)})"
    )
    w("")
    un = bot["unchanged"]
    if un:
        uw = statistics.median(u["wall"] for u in un)
        ucpu = statistics.median(u["proc"] for u in un)
        feeds = un[0]["feeds"]
        nu = naive["unchanged"] if naive else []
        nuw = statistics.median(u["wall"] for u in nu) if nu else None
        nucpu = statistics.median(u["cpu"] for u in nu) if nu else None
        row(
            f"unchanged cycle ({feeds} feeds, {un[0]['not_modified']}×304), wall ms",
            uw * 1e3,
            nuw * 1e3 if nuw else None,
        )
        row(
            "unchanged cycle CPU per feed, ms",
            ucpu * 1e3 / feeds,
            nucpu * 1e3 / feeds if nucpu else None,
            spec=".2f",
        )
    w("")
    peak_rss, peak_pss, procs = rss.peak(bot["t_start"], bot["t_drain_end"])
    row(
        "peak RSS, bot + workers, MB (sum of RSS)",
        peak_rss / MB,
        naive_rss[0] / MB if naive_rss else None,
    )
    row(
        "peak PSS, bot + workers, MB (shared pages split)",
        peak_pss / MB,
        naive_rss[1] / MB if naive_rss else None,
    )
    roles = rss.peak_roles(bot["t_start"], bot["t_drain_end"])
    w(
        f"  up to {procs} processes; each one's own peak RSS, MB: "
        + ", ".join(f"{k} {v / MB:.0f}" for k, v in sorted(roles.items()))
    )
    w("")
    # Latency and delivery.
    first_served = farm_stats["first_served"]
    sends = [e for e in tg["log"] if e[2] == "send" and e[3] in first_served]
    lat = [t - first_served[p] for t, _, _, p in sends]
    first_per_article: dict[str, float] = {}
    for t, _, _, p in sends:
        first_per_article[p] = min(first_per_article.get(p, t), t)
    lat_first = [t - first_served[p] for p, t in first_per_article.items()]
    nl = nf["latencies"] if nf else []
    row(
        "alert latency p50, s (served → sendMessage)",
        percentile(lat, 0.5),
        percentile(nl, 0.5) if nl else None,
        r="",
    )
    row("alert latency p95, s", percentile(lat, 0.95), percentile(nl, 0.95) if nl else None, r="")
    row("  first chat of each article: p50, s", percentile(lat_first, 0.5))
    row("  first chat of each article: p95, s", percentile(lat_first, 0.95))
    w("  (naive: feed served → matched; it sends nothing)")
    enq = bot["enqueued"]
    all_sends = [e for e in tg["log"] if e[2] in ("send", "edit")]
    if enq and all_sends:
        start = min(t for t, _, _ in enq)
        actual_end = max(t for t, _, _, _ in all_sends)
        ideal_end = ideal_delivery_end(enq, limits)
        achieved = len(all_sends) / (actual_end - start)
        allowed = len(enq) / (ideal_end - start) if ideal_end > start else float("nan")
        row("alerts queued / sent", len(enq), len(all_sends), spec=".0f")
        row("delivery rate achieved, msg/s", achieved)
        row("delivery rate allowed by Telegram's limits", allowed)
        row("  achieved / allowed, %", 100 * achieved / allowed, spec=".0f", r="")
        busy = [t for t, _, _, _ in all_sends]
        w(
            f"  sends from {min(busy) - start:.1f} s to {actual_end - start:.1f} s after the "
            f"first alert was queued; ideal end {ideal_end - start:.1f} s"
        )
    if all_sends:
        attempts = [e[0] for e in tg["log"] if e[2] in ("send", "edit", "refused")]
        w(
            f"  most send attempts in any 1 s: {max_in_window(attempts, 1.0)}, accepted: "
            f"{max_in_window([e[0] for e in all_sends], 1.0)} "
            f"(limit {limits.overall}); accepted to one group in any 60 s: "
            + str(
                max(
                    (
                        max_in_window([e[0] for e in all_sends if e[1] == g], 60.0)
                        for g in {e[1] for e in all_sends if isinstance(e[1], int) and e[1] < 0}
                    ),
                    default=0,
                )
            )
            + f" (limit {limits.group})"
        )
    refused = tg["refused"]
    row("429 Too Many Requests", sum(refused.values()), spec=".0f")
    if refused:
        w(f"  by limit: {refused}")
    w(f"  outbox after drain: {bot['outbox']}")
    failed = [c for c in cyc if c["failed"]]
    if failed:
        w(f"  feeds failed in timed cycles: {[c['failed_kinds'] for c in failed]}")
    w("")
    # Targets.
    w("targets (issue: Performance: a benchmark, and a pipeline that beats the extraction floor)")
    w(f"{'target':66} {'measured':>12}  verdict")

    def target(name: str, measured: str, ok: bool | None) -> None:
        verdict = "–" if ok is None else ("met" if ok else "MISSED")
        w(f"{name:66} {measured:>12}  {verdict}")

    if naive_rate:
        target(
            "new-article throughput ≥ 3× naive",
            f"{bot_rate / naive_rate:.2f}×",
            bot_rate >= 3 * naive_rate,
        )
    target(
        f"throughput > 2-core extraction floor ({floor_rate:.0f}/s, {floor_src})",
        f"{bot_rate:.1f}/s",
        bot_rate > floor_rate,
    )
    w(f"  (floor = 2 cores / trafilatura CPU per article = 2 / {extract_cpu * 1e3:.2f} ms)")
    if un:
        target(
            f"unchanged cycle, {un[0]['feeds']} feeds: see unchanged_bench for 1,000",
            f"{uw * 1e3:.0f} ms",
            None,
        )
    target(
        f"peak RSS ≤ 250 MB during a {recorded}-article burst (sum of RSS)",
        f"{peak_rss / MB:.0f} MB",
        peak_rss <= 250 * MB,
    )
    target(
        "  the same, counting shared pages once (sum of PSS)",
        f"{peak_pss / MB:.0f} MB",
        peak_pss <= 250 * MB,
    )
    if enq and all_sends:
        target(
            "Telegram delivery ≥ 90 % of the allowed rate",
            f"{100 * achieved / allowed:.0f} %",
            achieved >= 0.9 * allowed,
        )
    target("zero 429s", f"{sum(refused.values())}", not refused)
    return "\n".join(lines)


# ======================================================================= orchestration
def main() -> None:
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
    limits = Limits()
    ctx = multiprocessing.get_context("spawn")
    started = time.time()
    print(f"generating {args.feeds * args.items} articles on {args.feeds} hosts …", flush=True)

    farm_conn, farm_end = ctx.Pipe()
    spec = FarmSpec(
        args.feeds,
        args.items,
        seed=args.seed,
        on_topic=args.on_topic,
        teaser_share=args.teaser_share,
        gzip=not args.no_gzip,
        latency=args.latency_ms / 1e3,
    )
    farm = ctx.Process(target=farm_main, args=(farm_end, spec), daemon=True)
    farm.start()
    tg_conn, tg_end = ctx.Pipe()
    tg = ctx.Process(target=telegram_main, args=(tg_end, limits), daemon=True)
    tg.start()
    tg_url = tg_conn.recv()
    _, farm_info = farm_conn.recv()
    print(f"farm ready in {time.time() - started:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        from benchlib import write_config

        work = Path(tmp)
        probe = work / "probe"
        probe.mkdir()
        config = write_config(work, farm_info["feeds"], tg_url, host_interval=args.host_interval)
        cfg = {
            "workdir": str(work),
            "probe_dir": str(probe),
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
        helpers = {"farm": farm.pid, "telegram fake": tg.pid}
        helper_cpu0 = {k: _cpu_of(pid) for k, pid in helpers.items()}
        farm_conn.send("publish")
        farm_conn.recv()
        bot_conn.send("go")
        _, result = bot_conn.recv()
        bot.join(timeout=60)
        rss.stop()
        helper_cpu = {k: _cpu_of(pid) - helper_cpu0[k] for k, pid in helpers.items()}
        print(
            f"bot done: cycle {sum(c['wall'] for c in result['cycles']):.1f} s, drain "
            f"{result['t_drain_end'] - result['t_cycle_end']:.1f} s",
            flush=True,
        )
        log_tail = (work / "bot.log").read_text(errors="replace").splitlines()
        errors = [ln for ln in log_tail if " ERROR " in ln]
    farm_conn.send("stats")
    farm_stats = farm_conn.recv()
    tg_conn.send("stats")
    tg_stats = tg_conn.recv()

    naive, naive_rss = None, None
    if not args.no_naive:
        print("running the naive sequential pipeline …", flush=True)
        n_conn, n_end = ctx.Pipe()
        proc = ctx.Process(
            target=naive_proc, args=(n_end, farm_info["feeds"], min(args.unchanged_cycles, 2))
        )
        proc.start()
        nrss = RssSampler(proc.pid).start()
        farm_cpu0 = _cpu_of(farm.pid)
        naive = n_conn.recv()
        naive["farm_cpu"] = _cpu_of(farm.pid) - farm_cpu0
        proc.join(timeout=60)
        nrss.stop()
        peak = nrss.peak()
        naive_rss = (max(peak[0], naive["maxrss"]), peak[1])
    farm_conn.send("stop")
    tg_conn.send("stop")
    farm.join(timeout=10)
    tg.join(timeout=10)

    table = report(args, farm_info, farm_stats, tg_stats, result, naive, rss, naive_rss, limits)
    table += (
        "\n\nnot counted above (other processes on the same 2 cores): during the bot's run the "
        + ", ".join(f"{k} used {v:.1f} s CPU" for k, v in helper_cpu.items())
        + (f"; during the naive run the farm used {naive['farm_cpu']:.1f} s" if naive else "")
    )
    cmd = " ".join([".venv/bin/python", "bench/pipeline_bench.py", *sys.argv[1:]])
    header = (
        f"{cmd}\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"total bench time {time.time() - started:.0f} s; {code_version()}"
    )
    print()
    print(header)
    print(table)
    if result.get("profile"):
        print("\ncProfile of the bot process during the timed cycle (own time):")
        print(result["profile"])
    if errors:
        kinds: dict[str, int] = {}
        for line in errors:
            key = " ".join(line.split()[2:4])[:120]
            kinds[key] = kinds.get(key, 0) + 1
        print(f"{len(errors)} ERROR lines in the bot's log: {kinds}")


if __name__ == "__main__":
    main()
