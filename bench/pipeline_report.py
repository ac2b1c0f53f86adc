"""The tables bench/pipeline_bench.py prints. Nothing here measures anything.

``figures`` turns one farm's raw results into named figures; ``report`` prints,
for each farm, every figure over the runs as ``median (min–max)``, then the
CPU breakdown by stage and the targets.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from benchlib import Limits, ideal_delivery_end, percentile
from naive import STAGES as NAIVE_STAGES
from shipped import CHANGED

WORKER_STEPS = ("prefilter", "extract", "canonical", "match", "fingerprint")


def _cpu(c: dict[str, float]) -> float:
    return c["main"] + c["children"]


def figures(r: dict[str, Any], limits: Limits) -> dict[str, float]:
    """One farm, one run: the named figures."""
    bot, naive, tg, served = r["bot"], r["naive"], r["tg"], r["farm_stats"]["first_served"]
    total = len(r["farm_stats"]["first_served"]) or 1
    first = min(served.values()) if served else float("nan")
    done = bot["items_done"] or bot["end"]
    sends = [(t, chat, path) for t, chat, kind, path in tg["log"] if kind == "send" and path]
    lat = [t - served[p] for t, _, p in sends if p in served]
    cpu = _cpu(bot["cpu_end"]) - _cpu(bot["cpu_ready"])
    f = {
        "articles": total,
        "startup to first request, s": first - bot["spawned"],
        "bot articles/s": total / (done - first),
        "naive articles/s": naive["first"]["articles"] / naive["first"]["wall"],
        "bot CPU ms/article (all processes, delivery incl.)": cpu / total * 1e3,
        "naive CPU ms/article (no delivery)": naive["first"]["cpu"] / total * 1e3,
        "alerts matched (article, topic): bot": len(bot["alerts"]),
        "alerts matched (article, topic): naive": len(naive["alerts"]),
        "alert sets differ by": len(
            set(map(tuple, bot["alerts"])) ^ set(map(tuple, naive["alerts"]))
        ),
        "messages sent": len(sends),
        "429 answers": sum(tg["refused"].values()),
        "latency served→sendMessage p50, s": percentile(lat, 0.5),
        "latency served→sendMessage p95, s": percentile(lat, 0.95),
        "naive unchanged pass, ms/feed (all 304)": naive["unchanged"]["cpu"]
        / max(1, naive["unchanged"]["not_modified"])
        * 1e3,
    }
    f["throughput bot/naive"] = f["bot articles/s"] / f["naive articles/s"]
    f["CPU/article bot/naive"] = (
        f["bot CPU ms/article (all processes, delivery incl.)"]
        / f["naive CPU ms/article (no delivery)"]
    )
    enq = bot["enqueued"]
    if sends and enq:
        start, last = min(t for t, _, _ in enq), max(t for t, _, _ in sends)
        ideal = ideal_delivery_end(enq, limits)
        f["delivery % of allowed rate"] = 100 * (ideal - start) / (last - start)
        tail = [t for t, _, _ in sends if t > done]
        if len(tail) >= 10:
            spent = bot["cpu_end"]["main"] - bot["cpu_items"]["main"]
            f["delivery CPU ms/message (tail, bot process)"] = spent / len(tail) * 1e3
    f.update(_stages(r, total))
    return f


def _stages(r: dict[str, Any], total: int) -> dict[str, float]:
    """CPU ms/article by stage: worker steps from /metrics, the rest by process."""
    bot, m = r["bot"], r["bot"]["metrics"]
    steps = {s: m.get(f'newsbot_stage_cpu_seconds_total{{stage="{s}"}}', 0.0) for s in WORKER_STEPS}
    children = bot["cpu_end"]["children"] - bot["cpu_ready"]["children"]
    main = bot["cpu_end"]["main"] - bot["cpu_ready"]["main"]
    out = {f"stage {s} (worker step)": v / total * 1e3 for s, v in steps.items()}
    out["stage workers: rest (start-up, IPC, feed parsing)"] = (
        (children - sum(steps.values())) / total * 1e3
    )
    out["stage bot process: fetch, store, record, deliver, loop"] = main / total * 1e3
    for s in NAIVE_STAGES:
        out[f"naive {s}"] = r["naive"]["stages"][s] / total * 1e3
    return out


def _span(values: list[float], spec: str) -> str:
    vals = [v for v in values if v == v]
    if not vals:
        return "–"
    mid = format(statistics.median(vals), spec)
    if len(vals) == 1:
        return mid
    return f"{mid} ({format(min(vals), spec)}–{format(max(vals), spec)})"


def report(args: argparse.Namespace, results: list[dict[str, Any]], limits: Limits) -> str:
    lines = [
        f"{args.feeds} feeds × {args.items} new items per farm, {args.chats} chats on every "
        f"topic + 1 group on csto; {args.runs} run(s): median (min–max)",
        "bot: `newsbot run` as a process, shipped settings except: "
        + "; ".join(f"{k} {v}" for k, v in CHANGED.items())
        + (
            f"; fetch.per_host_interval_seconds {args.host_interval} (shipped: 1; with one host"
            " per feed, a burst of N items per feed takes at least N × the spacing)"
            if args.host_interval is not None
            else "; fetch.per_host_interval_seconds as shipped (1 s): a burst of N items per"
            " feed takes at least N s, whatever the CPU"
        ),
        "latency: from the farm first serving the feed that lists the item (its publication,"
        " as seen by a poll) to sendMessage at the fake; add up to one poll interval"
        " for an item published between polls",
    ]
    by_farm: dict[str, list[dict[str, float]]] = {}
    for r in results:
        by_farm.setdefault(r["farm"], []).append(figures(r, limits))
        if r["bot"]["errors"]:
            lines.append(f"{r['farm']}: {len(r['bot']['errors'])} ERROR lines in bot.log")
    farms = list(by_farm)
    names = list(dict.fromkeys(k for fs in by_farm.values() for f in fs for k in f))
    lines.append("")
    lines.append(f"{'':56}" + "".join(f"{farm:>24}" for farm in farms))
    for name in names:
        spec = (
            ".0f"
            if name.startswith(("articles", "alerts", "messages", "429", "alert"))
            else (".2f" if "/naive" in name or "latency" in name or "startup" in name else ".1f")
        )
        row = [_span([f.get(name, float("nan")) for f in by_farm[farm]], spec) for farm in farms]
        lines.append(f"{name[:56]:56}" + "".join(f"{c:>24}" for c in row))
    lines.append("")
    lines += _targets(by_farm)
    return "\n".join(lines)


def _targets(by_farm: dict[str, list[dict[str, float]]]) -> list[str]:
    out = ["targets (issue 18), worst run:"]

    def worst(farm: str, key: str, low: bool = True) -> float:
        vals = [f.get(key, float("nan")) for f in by_farm.get(farm, [])]
        vals = [v for v in vals if v == v]
        return (min(vals) if low else max(vals)) if vals else float("nan")

    checks = [
        ("throughput ≥ 3× naive, realistic", worst("realistic", "throughput bot/naive"), 3.0),
        ("throughput ≥ 1× naive, worst case", worst("worst", "throughput bot/naive"), 1.0),
        ("delivery ≥ 90 % of allowed rate", worst("realistic", "delivery % of allowed rate"), 90),
    ]
    for name, v, goal in checks:
        out.append(f"  {name:44} {v:8.2f}  {'met' if v >= goal else 'MISSED'}")
    for farm in by_farm:
        n429 = worst(farm, "429 answers", low=False)
        diff = worst(farm, "alert sets differ by", low=False)
        out.append(f"  {farm}: 429s {n429:.0f}, alert pairs differing bot vs naive {diff:.0f}")
    return out
