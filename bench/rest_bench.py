"""At rest: ``newsbot run`` (the console script, as shipped) over unchanged feeds.

60 loopback feeds of 30 items each (their ETags answer 304 after the first poll),
a 5-minute interval, no new items. Prints:

- start-up: process spawn to the first feed request, on a new store (its schema
  is created first) and again over the store the run left, every feed made due;
- RSS of the whole process tree (bot and its workers): after the first poll (a
  burst of 60 feed parses in workers), how long until it is under 100 MB and no
  worker is left, and at the end of the window at rest;
- CPU seconds of the tree in the window at rest (which starts once no worker is
  left: the first poll is not "at rest", as rss2email_compare.py leaves out
  rss2email's first run too), per hour; the burst's tail is printed apart.

    .venv/bin/python bench/rest_bench.py [--minutes 5] [--feeds 60] [--interval 300]
        [--newsbot /tmp/prodvenv/bin/newsbot]

``--newsbot``: the console script to run, e.g. from a venv installed as the
container is (``pip install --no-deps -r requirements.lock``, then the project):
this venv's test extras (rich, cryptography, brotli) add ~10 MB to the bot.

A window shorter than an hour is extrapolated (CPU s/hour = CPU s / window × 3600);
it says so. The machine may be shared: CPU seconds are the tree's own, not wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.child_env import child_env  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeBotAPI  # noqa: E402


def feed_xml(n: int, items: int) -> bytes:
    old = datetime.now(UTC) - timedelta(days=2)
    entries = "".join(
        f"<item><title>Feed {n} story {i}: a quiet day in the markets</title>"
        f"<link>http://127.0.0.1/f{n}/a{i}.html</link><guid>f{n}-{i}</guid>"
        f"<description>Nothing of note happened on day {i}.</description>"
        f"<pubDate>{format_datetime(old - timedelta(hours=i))}</pubDate></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


class Farm(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, feeds: int, items: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.bodies = {f"/f{n}.xml": feed_xml(n, items) for n in range(feeds)}
        self.first: float | None = None
        self.hits = self.not_modified = 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Farm

    def do_GET(self) -> None:
        with self.server.lock:
            if self.server.first is None:
                self.server.first = time.monotonic()
            self.server.hits += 1
        body = self.server.bodies.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if self.headers.get("If-None-Match") == etag:
            with self.server.lock:
                self.server.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


class CpuTally:
    """CPU seconds of every process the tree ever had (exited workers included)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.seen = pid, {}

    def sample(self) -> float:
        for p in tree(self.pid):
            try:
                t = p.cpu_times()
                self.seen[p.pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return sum(self.seen.values())


def running(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def settle(pid: int, cpu: CpuTally, limit: float) -> tuple[float, float | None]:
    """Wait until no worker is left (at most ``limit`` s): (seconds it took, seconds
    until the tree was first under 100 MB, or None)."""
    start, under = time.monotonic(), None
    while time.monotonic() - start < limit:
        cpu.sample()
        if under is None and rss_mb(pid) < 100:
            under = time.monotonic() - start
        if not any(running(p) for p in tree(pid)[1:]) and under is not None:
            break
        time.sleep(2)
    time.sleep(5)  # the bot gives the burst's memory back 2 s after its last worker left
    return time.monotonic() - start, under


def spawn(script: Path, config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(script), "--config", str(config), "run"],
        env=child_env(DEFAULT_TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
    )


def read_code(script: Path) -> float:
    """Read every file of the bot's code into the page cache; seconds it took.

    This machine's page cache forgets files within a minute or so, and a cold read
    of the ~40 MB the imports touch costs 0.5-2 s of disk before any CPU is spent.
    """
    start = time.monotonic()
    venv = Path(script).resolve().parent.parent
    for tree_root in (venv / "lib", ROOT / "bot"):
        for path in tree_root.rglob("*"):
            if path.suffix in (".py", ".pyc", ".so") and path.is_file():
                path.read_bytes()
    return time.monotonic() - start


def startup_cpu(proc: subprocess.Popen) -> float:
    with contextlib.suppress(psutil.NoSuchProcess):
        t = psutil.Process(proc.pid).cpu_times()
        return t.user + t.system
    return float("nan")


def restart_startup(
    script: Path, config: Path, root: Path, farm: Farm
) -> tuple[float, float, float]:
    """Start-up again over the store the first run left (no schema to create), every
    feed made due (a restart after some downtime), with the code in the page cache:
    (spawn to the first feed request, the bot's CPU seconds by then, the read's s)."""
    with contextlib.closing(sqlite3.connect(root / "state" / "newsbot.sqlite3")) as db, db:
        db.execute("UPDATE feeds SET next_poll_at = '2000-01-01 00:00:00.000000'")
    with farm.lock:
        farm.first = None
    read = read_code(script)
    spawned = time.monotonic()
    proc = spawn(script, config, root / "bot.log")
    try:
        while farm.first is None and time.monotonic() - spawned < 60:
            time.sleep(0.01)
        return (farm.first or float("nan")) - spawned, startup_cpu(proc), read
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0, help="the window at rest")
    ap.add_argument("--settle-minutes", type=float, default=4.0, help="at most, after the burst")
    ap.add_argument("--feeds", type=int, default=60)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--interval", type=float, default=300.0)
    ap.add_argument("--fixed", action="store_true", help="polling.adaptive: false")
    ap.add_argument("--newsbot", default=str(Path(sys.executable).parent / "newsbot"))
    args = ap.parse_args()
    farm = Farm(args.feeds, args.items)
    threading.Thread(target=farm.serve_forever, daemon=True).start()
    api = FakeBotAPI()
    api.start()
    root = Path(tempfile.mkdtemp(prefix="newsbot-rest-"))
    config = root / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "rules.yaml", config / "rules.yaml")
    port = farm.server_address[1]
    feeds = [
        {"url": f"http://127.0.0.1:{port}/f{n}.xml", "name": f"F{n}"} for n in range(args.feeds)
    ]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}))
    settings = {
        "state_dir": str(root / "state"),
        "poll_interval_seconds": args.interval,
        "fetch": {"allow_loopback": True},  # the one change from the shipped settings
        "telegram": {"base_url": api.base_url},
    }
    if args.fixed:
        settings["polling"] = {"adaptive": False}
    (config / "settings.yaml").write_text(yaml.safe_dump(settings))
    script = Path(args.newsbot)
    spawned = time.monotonic()
    proc = spawn(script, config, root / "bot.log")
    cpu = CpuTally(proc.pid)
    try:
        first_cpu = float("nan")
        while farm.hits < args.feeds and time.monotonic() - spawned < 120:
            cpu.sample()
            if farm.first is not None and first_cpu != first_cpu:
                first_cpu = startup_cpu(proc)
            time.sleep(0.01 if farm.first is None else 0.05)
        startup = (farm.first or float("nan")) - spawned
        time.sleep(3)
        burst_rss = rss_mb(proc.pid)
        workers_after_burst = len(tree(proc.pid)) - 1
        burst_cpu = cpu.sample()
        settled, under = settle(proc.pid, cpu, args.settle_minutes * 60)
        settle_cpu = cpu.sample() - burst_cpu
        start_cpu, start, start_hits = cpu.sample(), time.monotonic(), farm.hits
        peak = rest_rss = rss_mb(proc.pid)
        while time.monotonic() < start + args.minutes * 60:
            time.sleep(5)
            cpu.sample()
            rest_rss = rss_mb(proc.pid)
            peak = max(peak, rest_rss)
        roles = {f"{p.pid} {p.name()}": p.memory_info().rss / 2**20 for p in tree(proc.pid)}
        used, window = cpu.sample() - start_cpu, time.monotonic() - start
        polls = farm.hits - start_hits
        procs = len(tree(proc.pid))
        proc.terminate()
        proc.wait(20)
        restart, restart_cpu, read = restart_startup(script, config, root, farm)
    finally:
        proc.terminate()
        proc.wait(20)
        api.stop()
        farm.shutdown()
    print(f"feeds {args.feeds} x {args.items} items, interval {args.interval:.0f} s, no new items")
    print(
        f"start-up, spawn to first feed request: {startup:.2f} s, bot CPU by then "
        f"{first_cpu:.2f} s (new store: schema created; code as the page cache had it)"
    )
    print(
        f"start-up again, store kept, feeds due, code read into the page cache first "
        f"({read:.2f} s): {restart:.2f} s, bot CPU by then {restart_cpu:.2f} s"
    )
    print(f"tree RSS 3 s after the first poll: {burst_rss:.0f} MB ({workers_after_burst} children)")
    fell = f"{under / 60:.1f} min after the burst" if under is not None else "not while settling"
    print(f"tree under 100 MB: {fell}; no worker left after {settled / 60:.1f} min")
    print(f"CPU from 3 s after the first poll until settled: {settle_cpu:.2f} s (the burst's tail)")
    print(
        f"tree RSS at rest (end of window): {rest_rss:.0f} MB ({procs} processes); "
        f"peak in the window {peak:.0f}"
    )
    print("  by process: " + ", ".join(f"{k}: {v:.0f} MB" for k, v in roles.items()))
    print(
        f"window {window / 60:.1f} min: {polls} polls ({farm.not_modified} answered 304 in all), "
        f"CPU {used:.2f} s -> {used / window * 3600:.1f} CPU s/hour (extrapolated)"
    )
    rate = polls / args.feeds / (window / args.interval)
    print(f"polls per feed per interval over the window: {rate:.3f}")
    print(f"log: {root / 'bot.log'}  (pid was {proc.pid}; {os.cpu_count()} cores, shared)")


if __name__ == "__main__":
    main()
