"""The tables bench/pipeline_bench.py prints: one small function per section.

``Run`` holds what the bench measured (raw, as the processes sent it) and the
few figures several sections share; each section appends its lines to a
``Table``. Nothing here measures anything.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from benchlib import Limits, ideal_delivery_end, max_in_window, percentile
from stages import STAGES, WORKER_STAGES

MB = 1024 * 1024
NAIVE_STAGES = {"fetch feed": "fetch feed", "parse": "parse", "fetch page": "fetch page"}


def fmt(v: float | None, spec: str = ".1f") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return format(v, spec)


def ratio(a: float, b: float) -> str:
    if not a or not b or a != a or b != b:
        return "–"
    return f"{a / b:.2f}×"


class Table:
    """Lines of text: free lines, bot/naive rows, and target verdicts."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def w(self, line: str = "") -> None:
        self.lines.append(line)

    def head(self) -> None:
        self.w(f"{'':52} {'bot':>10} {'naive':>10} {'bot/naive':>10}")

    def row(
        self, name: str, b: Any, nv: Any = None, r: str | None = None, spec: str = ".1f"
    ) -> None:
        """A figure for the bot, optionally the naive one, and bot/naive (or ``r``)."""
        naive = fmt(nv, spec) if nv is not None else ""
        rat = r if r is not None else (ratio(b, nv) if nv is not None else "")
        self.w(f"{name:52} {fmt(b, spec):>10} {naive:>10} {rat:>10}")

    def target(self, name: str, measured: str, ok: bool | None) -> None:
        verdict = "–" if ok is None else ("met" if ok else "MISSED")
        self.w(f"{name:66} {measured:>12}  {verdict}")

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Run:
    """Everything one benchmark run measured."""

    args: argparse.Namespace
    farm_info: dict
    farm_stats: dict
    tg: dict
    bot: dict
    naive: dict | None
    naive_rss: tuple[int, int] | None
    limits: Limits

    @property
    def nf(self) -> dict | None:
        """The naive pipeline's cycle over the new items."""
        return self.naive["first"] if self.naive else None

    @cached_property
    def recorded(self) -> int:
        return sum(c["new"] for c in self.bot["cycles"])

    @cached_property
    def cycle_wall(self) -> float:
        return sum(c["wall"] for c in self.bot["cycles"])

    @property
    def per(self) -> int:
        """Articles to divide totals by."""
        return max(self.recorded, 1)

    @property
    def bot_rate(self) -> float:
        return self.recorded / self.cycle_wall if self.cycle_wall else 0

    @property
    def naive_rate(self) -> float | None:
        return self.nf["articles"] / self.nf["wall"] if self.nf else None

    def naive_ms(self, stage: str) -> float | None:
        """The naive pipeline's CPU per article in one of its stages, ms."""
        return self.naive["stages"][stage] * 1e3 / self.nf["articles"] if self.nf else None

    @property
    def extracted(self) -> int:
        """Pages the workers extracted: those the pre-filter let through."""
        seen = self.bot["observed"]
        return seen["jobs"] - seen["skipped"]

    @cached_property
    def floor(self) -> tuple[float, float, str]:
        """(articles/s, trafilatura s per article, source): 2 cores of extraction only."""
        if self.nf and self.naive["stages"]["extract"]:
            cpu, src = self.naive["stages"]["extract"] / self.nf["articles"], "naive, in-process"
        else:
            cpu = self.bot["observed"]["worker_ns"].get("extract", 0) / 1e9
            cpu, src = cpu / max(self.extracted, 1), "bot workers"
        return (2 / cpu if cpu else float("nan")), cpu, src

    @cached_property
    def unchanged_wall(self) -> float | None:
        un = self.bot["unchanged"]
        return statistics.median(u["wall"] for u in un) if un else None

    @cached_property
    def peak(self) -> tuple[int, int, int]:
        """(RSS, PSS, processes) of the bot's tree from publish to drained."""
        return self.bot["rss"].peak(self.bot["t_start"], self.bot["t_drain_end"])

    @cached_property
    def sends(self) -> list[tuple]:
        """Messages the fake Bot API accepted: new ones and edits."""
        return [e for e in self.tg["log"] if e[2] in ("send", "edit")]

    @cached_property
    def delivery(self) -> tuple[float, float, float, float] | None:
        """(first queued, last sent, ideal end, achieved msg/s), if anything was sent."""
        enq = self.bot["observed"]["enqueued"]
        if not (enq and self.sends):
            return None
        start = min(t for t, _, _ in enq)
        end = max(t for t, _, _, _ in self.sends)
        return start, end, ideal_delivery_end(enq, self.limits), len(self.sends) / (end - start)

    @property
    def allowed_rate(self) -> float:
        start, _, ideal, _ = self.delivery or (0, 0, 0, 0)
        enq = self.bot["observed"]["enqueued"]
        return len(enq) / (ideal - start) if ideal > start else float("nan")


def report(run: Run) -> str:
    """Every section, in order."""
    t = Table()
    setup_lines(t, run)
    t.w()
    t.head()
    throughput_rows(t, run)
    t.w()
    cpu_rows(t, run)
    t.w()
    unchanged_rows(t, run)
    t.w()
    memory_rows(t, run)
    t.w()
    latency_rows(t, run)
    delivery_rows(t, run)
    t.w()
    targets(t, run)
    t.w()
    not_counted(t, run)
    return t.text()


def setup_lines(t: Table, run: Run) -> None:
    args, farm, bot, labels = run.args, run.farm_info, run.bot, run.farm_info["labels"]
    on_topic = sum(1 for v in labels.values() if v[0])
    teasers = sum(1 for v in labels.values() if v[1])
    t.w(
        f"farm: {args.feeds} feeds × {args.items} items = {len(labels)} articles on "
        f"{args.feeds} loopback hosts; pages {farm['raw_page_mean'] / 1000:.0f} kB "
        f"({farm['sent_page_mean'] / 1000:.0f} kB gzip); {on_topic} on-topic, "
        f"{teasers} off-topic with an on-topic sidebar teaser; generated in "
        f"{farm['gen_seconds']:.1f} s"
    )
    t.w(
        f"bot: {bot['workers']} extraction workers (recycled every "
        f"{bot['max_tasks_per_child']} pages), deliver_due every {bot['deliver_interval']:g} s, "
        f"per-host interval {args.host_interval:g} s; {len(args.chat_ids)} private chats "
        f"(all topics) + {len(args.group_ids)} group(s) (csto); farm latency "
        f"{args.latency_ms:g} ms"
    )


def throughput_rows(t: Table, run: Run) -> None:
    nf = run.nf
    t.row("new articles processed", run.recorded, nf["articles"] if nf else None, spec=".0f")
    t.row("cycle wall time, s", run.cycle_wall, nf["wall"] if nf else None)
    t.row("throughput, articles/s", run.bot_rate, run.naive_rate)
    matched = sum(c["matched"] for c in run.bot["cycles"])
    t.row("matched articles", matched, nf["matched"] if nf else None, spec=".0f")


def cpu_rows(t: Table, run: Run) -> None:
    t.w("CPU per new article, ms (bot: timed cycle(s) + delivery drain)")
    attributed = bot_stage_rows(t, run)
    worker_rows(t, run)
    ca, n = run.bot["all_cpu"], run.per
    t.row("  forkserver (re-forking workers)", ca["forkserver"] * 1e3 / n, spec=".2f")
    glue = (ca["loop"] - attributed) * 1e3 / n
    t.row("  event loop, asyncio, httpx glue (unattributed)", glue, spec=".2f")
    t.row(
        "  other threads (pool IPC, DNS threads)", (ca["proc"] - ca["loop"]) * 1e3 / n, spec=".2f"
    )
    total_rows(t, run)


def bot_stage_rows(t: Table, run: Run) -> float:
    """One row per stage of the bot process that ran; returns their sum, in seconds."""
    ns, attributed = run.bot["observed"]["stages"], 0.0
    for stage in STAGES:
        v = ns.get(stage, 0) / 1e6
        attributed += v / 1e3
        if stage not in ns and stage not in NAIVE_STAGES:
            continue
        nv = run.naive_ms(NAIVE_STAGES[stage]) if stage in NAIVE_STAGES else None
        t.row(f"  {stage}", v / run.per, nv, spec=".2f")
    return attributed


def worker_rows(t: Table, run: Run) -> None:
    """The workers' whole CPU, and the part their results say each step took."""
    n, workers = run.per, run.bot["all_cpu"]["workers"]
    t.row(
        "  worker processes (all their CPU)", workers * 1e3 / n, run.naive_ms("extract"), spec=".2f"
    )
    ws = {k: v / 1e9 for k, v in run.bot["observed"]["worker_ns"].items()}
    for stage in WORKER_STAGES:
        label = "trafilatura" if stage == "extract" else stage
        t.row(f"    {label}", ws.get(stage, 0.0) * 1e3 / n, spec=".2f")
    other = workers - sum(ws.get(s, 0.0) for s in WORKER_STAGES)
    t.row("    other (IPC, unpickling, start-up)", other * 1e3 / n, spec=".2f")


def total_rows(t: Table, run: Run) -> None:
    ca, cc, n, wall = run.bot["all_cpu"], run.bot["cycle_cpu"], run.per, run.cycle_wall
    bot_total = ca["proc"] + ca["workers"] + ca["forkserver"]
    naive_total = run.nf["cpu"] / run.nf["articles"] * 1e3 if run.nf else None
    t.row("  TOTAL CPU per article", bot_total * 1e3 / n, naive_total, spec=".2f")
    cycle_total = cc["proc"] + cc["workers"] + cc["forkserver"]
    t.row("    of which during the timed cycle(s)", cycle_total * 1e3 / n, spec=".2f")
    t.row("    bot process alone (event-loop thread + others)", ca["proc"] * 1e3 / n, spec=".2f")
    t.w(
        f"  during the timed cycle(s): bot process busy {100 * cc['proc'] / wall:.0f} % "
        f"of one core (event-loop thread {100 * cc['loop'] / wall:.0f} %), extraction "
        f"workers {100 * cc['workers'] / wall / 2:.0f} % of two cores"
    )
    seen = run.bot["observed"]
    t.w(
        f"  pages fetched {seen['pages']}, analysed in workers {seen['jobs']}, extractions run "
        f"{run.extracted} (pre-filter said no to {seen['skipped']}, could match {run.extracted})"
    )


def unchanged_rows(t: Table, run: Run) -> None:
    un = run.bot["unchanged"]
    if not un:
        return
    ucpu = statistics.median(u["proc"] for u in un)
    feeds = un[0]["feeds"]
    nu = run.naive["unchanged"] if run.naive else []
    nuw = statistics.median(u["wall"] for u in nu) if nu else None
    nucpu = statistics.median(u["cpu"] for u in nu) if nu else None
    t.row(
        f"unchanged cycle ({feeds} feeds, {un[0]['not_modified']}×304), wall ms",
        run.unchanged_wall * 1e3,
        nuw * 1e3 if nuw else None,
    )
    t.row(
        "unchanged cycle CPU per feed, ms",
        ucpu * 1e3 / feeds,
        nucpu * 1e3 / feeds if nucpu else None,
        spec=".2f",
    )


def memory_rows(t: Table, run: Run) -> None:
    peak_rss, peak_pss, procs = run.peak
    naive = run.naive_rss
    t.row(
        "peak RSS, bot + workers, MB (sum of RSS)", peak_rss / MB, naive[0] / MB if naive else None
    )
    t.row(
        "peak PSS, bot + workers, MB (shared pages split)",
        peak_pss / MB,
        naive[1] / MB if naive else None,
    )
    roles = run.bot["rss"].peak_roles(run.bot["t_start"], run.bot["t_drain_end"])
    t.w(
        f"  up to {procs} processes; each one's own peak RSS, MB: "
        + ", ".join(f"{k} {v / MB:.0f}" for k, v in sorted(roles.items()))
    )


def latency_rows(t: Table, run: Run) -> None:
    """From the farm's first serving of an article to the fake Bot API's sendMessage."""
    first_served = run.farm_stats["first_served"]
    sends = [e for e in run.tg["log"] if e[2] == "send" and e[3] in first_served]
    lat = [when - first_served[p] for when, _, _, p in sends]
    first_per_article: dict[str, float] = {}
    for when, _, _, p in sends:
        first_per_article[p] = min(first_per_article.get(p, when), when)
    lat_first = [when - first_served[p] for p, when in first_per_article.items()]
    nl = run.nf["latencies"] if run.nf else []
    t.row(
        "alert latency p50, s (served → sendMessage)",
        percentile(lat, 0.5),
        percentile(nl, 0.5) if nl else None,
        r="",
    )
    t.row("alert latency p95, s", percentile(lat, 0.95), percentile(nl, 0.95) if nl else None, r="")
    t.row("  first chat of each article: p50, s", percentile(lat_first, 0.5))
    t.row("  first chat of each article: p95, s", percentile(lat_first, 0.95))
    t.w("  (naive: feed served → matched; it sends nothing)")


def delivery_rows(t: Table, run: Run) -> None:
    if run.delivery:
        start, end, ideal, achieved = run.delivery
        t.row(
            "alerts queued / sent", len(run.bot["observed"]["enqueued"]), len(run.sends), spec=".0f"
        )
        t.row("delivery rate achieved, msg/s", achieved)
        t.row("delivery rate allowed by Telegram's limits", run.allowed_rate)
        t.row("  achieved / allowed, %", 100 * achieved / run.allowed_rate, spec=".0f", r="")
        t.w(
            f"  sends from {min(e[0] for e in run.sends) - start:.1f} s to {end - start:.1f} s "
            f"after the first alert was queued; ideal end {ideal - start:.1f} s"
        )
    if run.sends:
        peaks_line(t, run)
    refused = run.tg["refused"]
    t.row("429 Too Many Requests", sum(refused.values()), spec=".0f")
    if refused:
        t.w(f"  by limit: {refused}")
    t.w(f"  outbox after drain: {run.bot['outbox']}")
    failed = [c for c in run.bot["cycles"] if c["failed"]]
    if failed:
        t.w(f"  feeds failed in timed cycles: {[c['failed_kinds'] for c in failed]}")


def peaks_line(t: Table, run: Run) -> None:
    """The busiest second (all chats) and minute (per group), against the limits."""
    attempts = [e[0] for e in run.tg["log"] if e[2] in ("send", "edit", "refused")]
    accepted = [e[0] for e in run.sends]
    groups = {e[1] for e in run.sends if isinstance(e[1], int) and e[1] < 0}
    per_group = (max_in_window([e[0] for e in run.sends if e[1] == g], 60.0) for g in groups)
    t.w(
        f"  most send attempts in any 1 s: {max_in_window(attempts, 1.0)}, accepted: "
        f"{max_in_window(accepted, 1.0)} (limit {run.limits.overall}); accepted to one group "
        f"in any 60 s: {max(per_group, default=0)} (limit {run.limits.group})"
    )


def targets(t: Table, run: Run) -> None:
    """The issue's targets, each with its measured figure and a verdict."""
    t.w("targets (issue: Performance: a benchmark, and a pipeline that beats the extraction floor)")
    t.w(f"{'target':66} {'measured':>12}  verdict")
    rate, naive_rate = run.bot_rate, run.naive_rate
    if naive_rate:
        t.target(
            "new-article throughput ≥ 3× naive", f"{rate / naive_rate:.2f}×", rate >= 3 * naive_rate
        )
    floor_rate, extract_cpu, floor_src = run.floor
    t.target(
        f"throughput > 2-core extraction floor ({floor_rate:.0f}/s, {floor_src})",
        f"{rate:.1f}/s",
        rate > floor_rate,
    )
    t.w(f"  (floor = 2 cores / trafilatura CPU per article = 2 / {extract_cpu * 1e3:.2f} ms)")
    if run.bot["unchanged"]:
        feeds = run.bot["unchanged"][0]["feeds"]
        t.target(
            f"unchanged cycle, {feeds} feeds: see unchanged_bench for 1,000",
            f"{run.unchanged_wall * 1e3:.0f} ms",
            None,
        )
    memory_targets(t, run)
    if run.delivery:
        share = run.delivery[3] / run.allowed_rate
        t.target(
            "Telegram delivery ≥ 90 % of the allowed rate", f"{100 * share:.0f} %", share >= 0.9
        )
    refused = run.tg["refused"]
    t.target("zero 429s", f"{sum(refused.values())}", not refused)


def memory_targets(t: Table, run: Run) -> None:
    peak_rss, peak_pss, _ = run.peak
    t.target(
        f"peak RSS ≤ 250 MB during a {run.recorded}-article burst (sum of RSS)",
        f"{peak_rss / MB:.0f} MB",
        peak_rss <= 250 * MB,
    )
    t.target(
        "  the same, counting shared pages once (sum of PSS)",
        f"{peak_pss / MB:.0f} MB",
        peak_pss <= 250 * MB,
    )


def not_counted(t: Table, run: Run) -> None:
    """The helpers' CPU: on the same cores, but in no figure above."""
    helpers = ", ".join(f"{k} used {v:.1f} s CPU" for k, v in run.bot["helper_cpu"].items())
    naive = (
        f"; during the naive run the farm used {run.naive['farm_cpu']:.1f} s" if run.naive else ""
    )
    t.w(
        "not counted above (other processes on the same 2 cores): during the bot's run the "
        + helpers
        + naive
    )
