"""At rest: ``newsbot run`` (the console script, as shipped) over unchanged feeds.

60 loopback feeds of 30 items each (their ETags answer 304 after the first poll),
a 5-minute interval, no new items. Prints:

- start-up: process spawn to the first feed request;
- RSS of the whole process tree (bot, forkserver, workers): after the first poll
  (a burst of 60 feed parses in workers), and once idle workers have exited;
- CPU seconds of the tree over the measured window, per hour.

    .venv/bin/python bench/rest_bench.py [--minutes 5] [--feeds 60] [--interval 300]

A window shorter than an hour is extrapolated (CPU s/hour = CPU s / window × 3600);
it says so. The machine may be shared: CPU seconds are the tree's own, not wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--feeds", type=int, default=60)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--interval", type=float, default=300.0)
    ap.add_argument("--fixed", action="store_true", help="polling.adaptive: false")
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
    script = Path(sys.executable).parent / "newsbot"
    spawned = time.monotonic()
    proc = subprocess.Popen(
        [str(script), "--config", str(config), "run"],
        env=child_env(DEFAULT_TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=open(root / "bot.log", "wb"),  # noqa: SIM115
    )
    cpu = CpuTally(proc.pid)
    try:
        while farm.hits < args.feeds and time.monotonic() - spawned < 120:
            cpu.sample()
            time.sleep(0.05)
        startup = (farm.first or float("nan")) - spawned
        time.sleep(3)
        burst_rss = rss_mb(proc.pid)
        workers_after_burst = len(tree(proc.pid)) - 1
        start_cpu, start = cpu.sample(), time.monotonic()
        start_hits = farm.hits
        peak, end = burst_rss, start + args.minutes * 60
        rest_rss = burst_rss
        while time.monotonic() < end:
            time.sleep(5)
            cpu.sample()
            rest_rss = rss_mb(proc.pid)
            peak = max(peak, rest_rss)
        used, window = cpu.sample() - start_cpu, time.monotonic() - start
        polls = farm.hits - start_hits
        procs = len(tree(proc.pid))
    finally:
        proc.terminate()
        proc.wait(20)
        api.stop()
        farm.shutdown()
    print(f"feeds {args.feeds} x {args.items} items, interval {args.interval:.0f} s, no new items")
    print(f"start-up, spawn to first feed request: {startup:.2f} s")
    print(f"tree RSS 3 s after the first poll: {burst_rss:.0f} MB ({workers_after_burst} children)")
    print(
        f"tree RSS at rest (end of window): {rest_rss:.0f} MB ({procs} processes); peak {peak:.0f}"
    )
    print(
        f"window {window / 60:.1f} min: {polls} polls ({farm.not_modified} answered 304 in all), "
        f"CPU {used:.2f} s -> {used / window * 3600:.1f} CPU s/hour (extrapolated)"
    )
    rate = polls / args.feeds / (window / args.interval)
    print(f"polls per feed per interval over the window: {rate:.3f}")
    print(f"log: {root / 'bot.log'}  (pid was {proc.pid}; {os.cpu_count()} cores, shared)")


if __name__ == "__main__":
    main()
