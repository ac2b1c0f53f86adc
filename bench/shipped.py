"""One run of ``newsbot run`` (the console script, as shipped) over a farm, watched from outside.

The bench process writes a config dir (shipped settings plus what a loopback farm
needs, listed in ``CHANGED``), subscribes the chats in the database, starts
``.venv/bin/newsbot --config DIR run`` and scrapes its ``/metrics`` until every new
article is processed and the outbox is empty. CPU is the whole process tree's
(bot, forkserver, workers, retired workers through their reaper's children times).
Afterwards the database says which (article, topic) pairs matched and when each
alert was queued.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from benchlib import PATH_RE, ROOT, TOKEN, tree_cpu

# Every setting that differs from config/settings.yaml, and why.
CHANGED = {
    "fetch.allow_loopback": "true (the farm is on 127.x)",
    "telegram.base_url": "the fake Bot API",
    "alerts.first_poll_max_age_hours": "24 (the burst is the first poll: no interval to wait)",
    "metrics_port": "a free port (off by default): the bench reads /metrics",
    "web.port": "0 (console off, as tests/fakes child_env sets it)",
}
METRIC = re.compile(r"^(newsbot_[a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+|NaN)$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(
    root: Path, feeds: list[str], telegram_url: str, port: int, host_interval: float | None
) -> Path:
    """config/rules.yaml as shipped, the farm's feeds, settings changed only as ``CHANGED``
    (and the per-host spacing, when ``host_interval`` is given)."""
    config = root / "config"
    config.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "rules.yaml", config / "rules.yaml")
    settings = {
        "state_dir": str(root / "state"),
        "metrics_port": port,
        "fetch": {"allow_loopback": True},
        "telegram": {"base_url": telegram_url},
        "alerts": {"first_poll_max_age_hours": 24},
    }
    if host_interval is not None:
        settings["fetch"]["per_host_interval_seconds"] = host_interval
    (config / "settings.yaml").write_text(yaml.safe_dump(settings))
    entries = [{"url": u, "name": f"Outlet {i}", "language": "de"} for i, u in enumerate(feeds)]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": entries}))
    return config


def subscribe(config: Path, chats: dict[int, tuple[str, ...]]) -> None:
    """Create the database (migrated) and subscribe the chats, before the bot starts."""
    sys.path.insert(0, str(ROOT))
    from bot.config.settings import load_settings
    from bot.store import Store

    store = Store.open(load_settings(config).db_url)
    for chat, topics in chats.items():
        for topic in topics:
            store.subs.subscribe(chat, topic)
    store.close()


def scrape(port: int) -> dict[str, float] | None:
    """``/metrics`` as {name or name{labels}: value}; None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for name, labels, value in METRIC.findall(text):
        out[f"{name}{{{labels}}}" if labels else name] = float(value)
    return out


def total_cpu(pid: int) -> dict[str, float]:
    """The tree's CPU: main, and the rest (forkserver, workers live and retired)."""
    with contextlib.suppress(Exception):
        t = tree_cpu(pid)
        return {"main": t["main"], "children": t["forkserver"] + t["workers"]}
    return {"main": float("nan"), "children": float("nan")}


def run_bot(
    work: Path, feeds: list[str], tg_url: str, chats: dict, total: int, host_interval: float | None
) -> dict[str, Any]:
    """Start ``newsbot run``, wait for ``total`` new items and an empty outbox, stop it."""
    from tests.fakes.child_env import child_env

    port = free_port()
    config = write_config(work, feeds, tg_url, port, host_interval)
    subscribe(config, chats)
    script = Path(sys.executable).parent / "newsbot"
    command = [str(script), "--config", str(config), "run"]
    profile = os.environ.get("BENCH_PROFILE_BOT")  # a cProfile of the bot process, written here
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    spawned = time.time()
    log = open(work / "bot.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        command,
        env=child_env(TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    out: dict[str, Any] = {"spawned": spawned}
    try:
        out.update(_watch(proc, port, total))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    db = work / "state" / "newsbot.sqlite3"
    out["alerts"], out["enqueued"] = read_db(db)
    text = (work / "bot.log").read_text(errors="replace").splitlines()
    out["errors"] = [ln for ln in text if " ERROR " in ln]
    return out


def _watch(proc: subprocess.Popen, port: int, total: int, limit: float = 900) -> dict[str, Any]:
    """Scrape until ``total`` items are processed and nothing waits in the outbox."""
    start = time.time()
    while (m := scrape(port)) is None:
        if proc.poll() is not None or time.time() - start > 60:
            raise RuntimeError("newsbot run did not start; see bot.log")
        time.sleep(0.05)
    ready, cpu_ready = time.time(), total_cpu(proc.pid)
    items_done = None
    while time.time() - start < limit:
        m = scrape(port) or m
        now = time.time()
        if items_done is None and m.get("newsbot_items_new_total", 0) >= total:
            items_done, cpu_items = now, total_cpu(proc.pid)
        if items_done is not None and not m.get("newsbot_outbox_depth", 0):
            break
        time.sleep(0.2)
    cpu_end = total_cpu(proc.pid)
    return {
        "ready": ready,
        "cpu_ready": cpu_ready,
        "items_done": items_done,
        "cpu_items": cpu_items if items_done else cpu_end,
        "cpu_end": cpu_end,
        "end": time.time(),
        "metrics": m,
    }


def _utc(text: str) -> float:
    d = datetime.fromisoformat(text)
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def read_db(db: Path) -> tuple[list[tuple[str, str]], list[tuple[float, int, str]]]:
    """(article path, topic) matched, and (queued at, chat, path) for every alert."""
    con = sqlite3.connect(db)
    try:
        pairs = con.execute(
            "SELECT a.url, m.topic_id FROM matches m JOIN articles a ON a.id = m.article_id"
        ).fetchall()
        rows = con.execute(
            "SELECT o.created_at, o.chat_id, a.url FROM outbox o JOIN articles a"
            " ON a.id = o.article_id"
        ).fetchall()
    finally:
        con.close()

    def path(url: str) -> str:
        found = PATH_RE.search(url)
        return found.group(0) if found else url

    alerts = sorted({(path(u), t) for u, t in pairs})
    return alerts, [(_utc(c), chat, path(u)) for c, chat, u in rows]
