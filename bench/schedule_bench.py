"""Every feed on its own clock, measured on the shipped path: ``newsbot run`` as a process.

Scenario A: 500 feeds on 50 loopback hosts (10 each), 100 of them hanging until
the fetch deadline (2 per host; shipped ``fetch.deadline_seconds`` 30), a 60 s
interval, in both listing orders (grouped by host, interleaved). Live feeds gain
new on-topic items at random times; chats subscribed to ``kazakhstan`` (the
shipped rules) get their alerts through a fake Bot API with Telegram's flood limits.
Scenario B: 60 feeds on ONE host at the shipped 1 s per-host spacing, 60 s
interval, no new items.

    .venv/bin/python bench/schedule_bench.py [--scenario A|B] [--order grouped|interleaved|both]
        [--minutes 7] [--adaptive] [--rate 0.3] [--chats 3]

Settings: shipped (config/settings.yaml defaults), except loopback allowed, the Bot
API URL, ``poll_interval_seconds`` 60 (the scenario's), ``metrics_port`` (for
/healthz and the lateness metric) and, unless ``--adaptive``, ``polling.adaptive``
false: polls per interval only mean something with a fixed interval. Prints
figures, asserts nothing; verdicts against the issue's targets are printed beside
them. Runs in a plain clone (no ../shared). The machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing as mp
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from statistics import median

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from benchlib import Limits, code_version, percentile, telegram_main  # noqa: E402
from schedule_farm import FeedSpec, farm_main  # noqa: E402

from bot.store import Store  # noqa: E402
from tests.fakes.child_env import child_env  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN  # noqa: E402

HANG_SLOTS = (3, 7)  # which of a host's feeds hang
SCRIPT = Path(sys.executable).parent / "newsbot"


def layout(scenario: str, order: str) -> list[FeedSpec]:
    """The feeds in listing order: grouped by host, or interleaved across hosts."""
    hosts, per, hang = (50, 10, HANG_SLOTS) if scenario == "A" else (1, 60, ())
    cells = [(h, s) for h in range(hosts) for s in range(per)]
    if order == "interleaved":
        cells.sort(key=lambda c: (c[1], c[0]))
    return [FeedSpec(f"127.0.{h + 1}.1", s in hang) for h, s in cells]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HealthWatch:
    """/healthz every 3 s, ``newsbot healthcheck`` every 20 s: green and red counts."""

    def __init__(self, port: int, config: Path) -> None:
        self.port, self.config = port, config
        self.http = {"green": 0, "red": 0}
        self.cli = {"green": 0, "red": 0}
        self.reds: list[str] = []
        self.stop = threading.Event()

    def _http(self) -> None:
        while not self.stop.wait(3):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5):
                    self.http["green"] += 1
            except urllib.error.HTTPError as exc:  # 503: unhealthy, and why
                self._red(exc.read().decode(errors="replace"))
            except OSError as exc:  # no answer: red too
                self._red(repr(exc))

    def _red(self, why: str) -> None:
        self.http["red"] += 1
        self.reds.append(f"{time.strftime('%H:%M:%S')} healthz {why.strip()[:160]}")

    def _cli(self) -> None:
        while not self.stop.wait(20):
            done = subprocess.run(
                [str(SCRIPT), "--config", str(self.config), "healthcheck"],
                env=child_env(DEFAULT_TOKEN),
                capture_output=True,
                text=True,
                check=False,
            )
            key = "green" if done.returncode == 0 else "red"
            self.cli[key] += 1
            if key == "red":
                self.reds.append(f"{time.strftime('%H:%M:%S')} cli {done.stdout.strip()[:160]}")

    def start(self) -> HealthWatch:
        for fn in (self._http, self._cli):
            threading.Thread(target=fn, daemon=True).start()
        return self


def write_config(root: Path, feeds: list[str], api_url: str, metrics: int, args) -> Path:
    config = root / "config"
    config.mkdir(parents=True)
    (config / "rules.yaml").write_bytes((ROOT / "config" / "rules.yaml").read_bytes())
    settings = {
        "state_dir": str(root / "state"),
        "poll_interval_seconds": args.interval,
        "metrics_port": metrics,
        "fetch": {"allow_loopback": True},
        "telegram": {"base_url": api_url},
        "polling": {"adaptive": bool(args.adaptive)},
    }
    (config / "settings.yaml").write_text(yaml.safe_dump(settings))
    entries = [{"url": u, "name": f"Outlet {i}", "language": "en"} for i, u in enumerate(feeds)]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": entries}))
    return config


def lateness_metric(port: int) -> dict[str, float]:
    """The bot's newsbot_poll_lateness_seconds histogram: cumulative count per bucket."""
    with contextlib.suppress(OSError):
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        pat = r'newsbot_poll_lateness_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)'
        return {le: float(n) for le, n in re.findall(pat, text.decode())}
    return {}


def run(scenario: str, order: str, args) -> dict:
    """One run: farm, fake Bot API, the bot; returns what was recorded."""
    feeds = layout(scenario, order)
    ctx = mp.get_context("spawn")
    farm_conn, child = ctx.Pipe()
    farm = ctx.Process(target=farm_main, args=(child, feeds), daemon=True)
    farm.start()
    port = farm_conn.recv()
    tg_conn, child = ctx.Pipe()
    tg = ctx.Process(target=telegram_main, args=(child, Limits()), daemon=True)
    tg.start()
    api_url = tg_conn.recv()
    root = Path(tempfile.mkdtemp(prefix=f"newsbot-sched-{scenario}-{order}-"))
    urls = [f"http://{f.host}:{port}/f{k}.xml" for k, f in enumerate(feeds)]
    metrics = free_port()
    config = write_config(root, urls, api_url, metrics, args)
    store = Store.open(f"sqlite:///{root / 'state' / 'newsbot.sqlite3'}")
    for chat in range(1000, 1000 + args.chats):
        store.subs.subscribe(chat, "kazakhstan")
    store.close()
    proc = subprocess.Popen(
        [str(SCRIPT), "--config", str(config), "run"],
        env=child_env(DEFAULT_TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=open(root / "bot.log", "wb"),  # noqa: SIM115
    )
    health = HealthWatch(metrics, config)
    try:
        live = [k for k, f in enumerate(feeds) if not f.hang]
        deadline = time.time() + 300
        while time.time() < deadline:  # every live feed seen once: then publish
            farm_conn.send(("stats",))
            polls = farm_conn.recv()["polls"]
            if all(polls.get(k) for k in live):
                break
            time.sleep(1)
        started = time.time()
        health.start()
        if args.rate > 0 and scenario == "A":
            farm_conn.send(("publish", args.rate))
            farm_conn.recv()
        time.sleep(args.minutes * 60)
        farm_conn.send(("quiet",))
        farm_conn.recv()
        ended = time.time()
        time.sleep(args.interval + 20)  # alerts for the last items: up to one poll away
        health.stop.set()
        farm_conn.send(("stats",))
        stats = farm_conn.recv()
        tg_conn.send("stats")
        sent = tg_conn.recv()
        bot_metric = lateness_metric(metrics)
    finally:
        health.stop.set()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        for conn in (farm_conn, tg_conn):
            with contextlib.suppress(OSError):
                conn.send(("stop",) if conn is farm_conn else "stop")
        farm.join(5)
        tg.join(5)
    raw = {"feeds": [[f.host, f.hang] for f in feeds], "stats": stats, "sent": sent}
    (root / "raw.json").write_text(json.dumps(raw))  # for a closer look afterwards
    log = (root / "bot.log").read_text(errors="replace")
    return {
        "feeds": feeds,
        "stats": stats,
        "sent": sent,
        "started": started,
        "ended": ended,
        "metric": bot_metric,
        "health": health,
        "root": root,
        "exhausted": log.count("pollers_exhausted"),
    }


def poll_figures(r: dict, interval: float) -> tuple[list[float], list[float]]:
    """Healthy feeds: (delay of each poll vs due = gap - interval, polls per interval per feed).

    Gaps between two requests of a feed, both at or after the window's start; the
    gap after a feed's first poll is left out (a first poll schedules from now,
    with jitter). Polls per interval: interval x (polls - 1) / (last - first).
    """
    delays, rates = [], []
    for k, f in enumerate(r["feeds"]):
        if f.hang:
            continue
        times = sorted(r["stats"]["polls"].get(k, []))[1:]
        times = [t for t in times if r["started"] <= t <= r["ended"]]
        delays += [b - a - interval for a, b in itertools.pairwise(times)]
        if len(times) >= 2:
            rates.append(interval * (len(times) - 1) / (times[-1] - times[0]))
    return delays, rates


def latency_figures(r: dict) -> tuple[list[float], list[float], int, int]:
    """Per alert (article x chat): publication -> sendMessage, first served -> sendMessage."""
    first: dict[tuple[str, int], float] = {}
    for at, chat, method, path in r["sent"]["log"]:
        if method == "send" and path:
            first.setdefault((path, chat), at)
    pub, served = r["stats"]["published"], r["stats"]["first_served"]
    from_pub = [t - pub[p] for (p, _), t in first.items() if p in pub]
    from_served = [t - served[p] for (p, _), t in first.items() if p in served]
    return from_pub, from_served, len(pub), len({p for p, _ in first})


def show(scenario: str, order: str, r: dict, args) -> None:
    iv = args.interval
    delays, rates = poll_figures(r, iv)
    mode = "adaptive polling ON" if args.adaptive else "polling.adaptive false (fixed interval)"
    healthy = sum(not f.hang for f in r["feeds"])
    print(
        f"\n== scenario {scenario}, {order}: {len(r['feeds'])} feeds, {healthy} healthy, "
        f"{len({f.host for f in r['feeds']})} hosts, interval {iv:.0f} s, {mode}; "
        f"window {(r['ended'] - r['started']) / 60:.1f} min"
    )
    if delays:
        p99 = percentile(delays, 0.99)
        print(
            f"poll delay vs due (farm: gap between polls - interval), {len(delays)} gaps: "
            f"p50 {percentile(delays, 0.5):+.2f} s, p99 {p99:+.2f} s, max {max(delays):+.2f} s"
            f"  [target p99 <= +2 s: {'MET' if p99 <= 2 else 'MISSED'}]"
        )
    m = r["metric"]
    if m:
        total = m.get("+Inf", 0)
        share = {le: m.get(le, 0) / total if total else 0 for le in ("0.5", "1.0", "2.0", "5.0")}
        print(
            f"bot's own newsbot_poll_lateness_seconds (every poll since start, hanging feeds "
            f"and first polls included), {total:.0f} polls: "
            + ", ".join(f"<= {le} s {v:.1%}" for le, v in share.items())
        )
    if rates:
        lo, mid, hi = min(rates), median(rates), max(rates)
        ok = lo >= 0.98 and hi <= 1.02
        print(
            f"polls per feed per interval over {len(rates)} healthy feeds: min {lo:.3f}, "
            f"median {mid:.3f}, max {hi:.3f}  [target 0.98-1.02: {'MET' if ok else 'MISSED'}]"
        )
    if scenario == "A":
        pub, served, n, alerted = latency_figures(r)
        if pub:
            p95 = percentile(pub, 0.95)
            print(
                f"publication -> sendMessage, {len(pub)} alerts ({alerted} of {n} articles, "
                f"{args.chats} chats): p50 {percentile(pub, 0.5):.1f} s, p95 {p95:.1f} s, "
                f"max {max(pub):.1f} s  [target p95 <= {iv + 5:.0f} s: "
                f"{'MET' if p95 <= iv + 5 else 'MISSED'}]"
            )
            print(
                f"first served -> sendMessage: p50 {percentile(served, 0.5):.1f} s, "
                f"p95 {percentile(served, 0.95):.1f} s, max {max(served):.1f} s; "
                f"429s from the fake: {sum(r['sent']['refused'].values())}"
            )
        else:
            print(f"no alerts arrived ({n} articles published)")
    h = r["health"]
    green = not h.http["red"] and not h.cli["red"]
    print(
        f"health: /healthz every 3 s {h.http['green']} green / {h.http['red']} red; "
        f"`newsbot healthcheck` every 20 s {h.cli['green']} green / {h.cli['red']} red  "
        f"[target green throughout: {'MET' if green else 'MISSED'}]"
    )
    for line in h.reds[:5]:
        print(f"  red: {line}")
    print(f"pollers_exhausted log lines: {r['exhausted']}; bot log: {r['root'] / 'bot.log'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=("A", "B"), default="A")
    ap.add_argument("--order", choices=("grouped", "interleaved", "both"), default="both")
    ap.add_argument("--minutes", type=float, default=7.0, help="measured window (>= 5 intervals)")
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--adaptive", action="store_true", help="keep shipped adaptive polling on")
    ap.add_argument("--rate", type=float, default=0.3, help="new articles per second (A)")
    ap.add_argument("--chats", type=int, default=3)
    args = ap.parse_args()
    orders = ("grouped", "interleaved") if args.order == "both" else (args.order,)
    if args.scenario == "B":
        orders = ("one host",)
    print(f"{code_version()}; {mp.cpu_count()} cores, shared with other work")
    for order in orders:
        show(args.scenario, order, run(args.scenario, order, args), args)


if __name__ == "__main__":
    main()
