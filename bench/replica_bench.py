"""Replica benchmark: pipeline_bench's scenario run by 1, then 2, newsbot replicas on PostgreSQL.

Run: ``.venv/bin/python bench/replica_bench.py [--quick | --feeds N --items M] [--replicas 1,2]``.
It prints figures and asserts nothing about time (a benchmark is not a test). Needs
psutil, psycopg and a PostgreSQL server (``--pg``, default the local one, trust auth).

For each replica count, everything is fresh, so the runs do not share state:

- a database ``newsbot_bench_<n>`` created on the server (dropped afterwards),
  migrated and given ``--chats`` private chats subscribed to every topic;
- the farm (bench/benchlib.py ``farm_main``, same seed every run): N outlets on
  127.0.X.1 with M items each and ~85 kB article pages, empty until published;
- the rate-limited fake Telegram Bot API (benchlib ``telegram_main``);
- N replicas: real ``python -m bot --config DIR run`` processes (as in production
  and tests/app/test_replicas.py), each with its own config dir, replica id, User-Agent
  and JSON log, all on the same database and feeds. They claim due feeds with leases
  on their scheduler tick; only the leader (advisory lock) sends to Telegram.

Phases: the replicas start and poll the empty feeds (first sight) until every feed's
``first_polled_at`` is set and a leader polls Telegram; then the farm publishes every
item at once and the bench watches the database from outside: all items recorded
(ingest), then the outbox drained (delivery). Then SIGTERM, the fakes' logs, the DB.

The replicas run as shipped, with no observer, so per-stage CPU is not available
here (pipeline_bench observes its in-process Service for that); CPU is each
replica's process tree (bot + forkserver + extraction workers, reaped workers
included) from psutil, sampled from outside.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    PATH_RE,
    TOKEN,
    FarmSpec,
    Limits,
    RssSampler,
    code_version,
    farm_main,
    ideal_delivery_end,
    percentile,
    telegram_main,
    write_config,
)
from pipeline_bench import TOPICS

from tests.fakes.child_env import child_env

MB = 1024 * 1024
POLL = 0.2  # seconds between checks in every wait loop
SKIPPED = "skipped: maximum number of running instances reached"  # apscheduler's warning


class BenchError(RuntimeError):
    """A wait timed out or a replica died: the run cannot be measured."""


def wait_for(
    check: Callable[[], Any], what: str, timeout: float, replicas: list[Replica] | None = None
) -> Any:
    """Poll ``check`` until it is truthy; fail fast if a replica exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        for r in replicas or []:
            if r.proc is not None and r.proc.poll() is not None:
                raise BenchError(f"{r.name} exited ({r.proc.returncode}) waiting for {what}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL)


# ============================================================================ database
def admin_connect(admin_url: str) -> Any:
    """An autocommit psycopg connection to the maintenance DB (CREATE/DROP DATABASE)."""
    import psycopg

    return psycopg.connect(admin_url, autocommit=True, connect_timeout=5)


def drop_database(admin_url: str, name: str) -> None:
    """End the sessions still on ``name`` (a killed replica's, a leader lock), drop it."""
    with admin_connect(admin_url) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(admin_url: str, name: str) -> str:
    """A fresh, empty database (a leftover of an aborted run is dropped first); its URL."""
    import sqlalchemy as sa

    drop_database(admin_url, name)
    with admin_connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


class Db:
    """The bench's own connection: it prepares the database, then only reads it."""

    def __init__(self, url: str) -> None:
        from bot.store import Store

        self.url = url
        self.store = Store.open(url)  # migrates: the replicas find the schema ready

    def scalar(self, sql: str) -> Any:
        """One value, on a fresh connection (sees every committed transaction)."""
        import sqlalchemy as sa

        with self.store.engine.connect() as conn:
            return conn.scalar(sa.text(sql))

    def rows(self, sql: str) -> list[Any]:
        """Every row of a query."""
        import sqlalchemy as sa

        with self.store.engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))

    def first_polled(self) -> int:
        """Feeds whose first poll (first sight) is recorded."""
        return self.scalar("SELECT count(*) FROM feeds WHERE first_polled_at IS NOT NULL")

    def feeds_done(self) -> int:
        """Feeds whose published items are all recorded.

        The pipeline saves a feed's HTTP validators only after every new item of it is
        recorded, and the farm's ETag is ``"full"`` once published, so this counts
        finished feeds whatever the item bookkeeping looks like. (Not count(items): an
        item has a row per identity key; nor sum(items_seen), which counts key rows
        for some writes and items for others.)"""
        return self.scalar("SELECT count(*) FROM feeds WHERE etag LIKE '%full%'")

    def undelivered(self) -> int:
        """Alerts still to send or to edit (digest-held rows do not occur here)."""
        return self.scalar(
            "SELECT count(*) FROM outbox WHERE status = 'pending' OR "
            "(status = 'sent' AND needs_edit)"
        )

    def close(self) -> None:
        """Release the pool, so that DROP DATABASE finds no session of ours."""
        self.store.close()


# ============================================================================ replicas
class Replica:
    """One ``newsbot run`` process with its own config dir and JSON log."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        self.log = root / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.rss: RssSampler | None = None
        self.stopped: tuple[int | None, float] | None = None  # (exit code, seconds)

    def configure(
        self, feeds: list[str], tg_url: str, db_url: str, args: argparse.Namespace
    ) -> None:
        """Production settings except: loopback, small host spacing, a 1 s schedule."""
        self.config = write_config(
            self.root,
            feeds,
            tg_url,
            host_interval=args.host_interval,
            extra={
                "database_url": db_url,
                "log_json": True,
                # Each feed due every poll interval (the tick is the same), so a
                # published item is seen within about one interval by some replica.
                "poll_interval_seconds": args.poll_interval,
                "polling": {"adaptive": False},
                "replica": {"id": self.name, "lease_seconds": 600, "leader_check_seconds": 1},
                "fetch": {"user_agent": f"newsbot-bench/{self.name}"},
                "extract": {"workers": args.workers},
            },
        )

    def start(self) -> None:
        """Launch as production does (own session, like a container), RSS sampled outside."""
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(self.config), "run"],
                cwd=self.root,
                env=child_env(TOKEN),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers are killable with it
            )
        self.rss = RssSampler(self.proc.pid, interval=0.2).start()

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines so far: the only record of which replica did what."""
        out: list[dict[str, Any]] = []
        if not self.log.exists():
            return out
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):  # a line being written
                    out.append(json.loads(line))
        return out

    def has(self, event: str) -> bool:
        """Whether the replica has logged ``event`` (readiness, leadership)."""
        return any(e.get("event") == event for e in self.events())

    def cpu(self) -> tuple[float, float]:
        """(bot process, its descendants incl. reaped ones) user+system CPU seconds.

        An extraction worker recycled after ``max_tasks_per_child`` pages is reaped by
        the forkserver, whose children_* times then hold its CPU, so none is lost."""
        import psutil

        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        t = root.cpu_times()
        main, rest = t.user + t.system, t.children_user + t.children_system
        for p in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = p.cpu_times()
                rest += c.user + c.system + c.children_user + c.children_system
        return main, rest

    def terminate(self) -> None:
        """SIGTERM, as compose stops a container: the replica should exit 0 by itself."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, started: float, timeout: float) -> None:
        """Wait for the exit SIGTERM asked for; SIGKILL the group after ``timeout``."""
        assert self.proc is not None
        code: int | None
        try:
            code = self.proc.wait(timeout=max(0.1, started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
        self.stopped = (code, time.monotonic() - started)
        self.kill_group()

    def kill_group(self) -> None:
        """SIGKILL what is left of this replica's process group (orphaned workers)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.rss is not None:
            self.rss.stop()


# ================================================================================ run
def run_replicas(n: int, args: argparse.Namespace, ctx: Any, work: Path) -> dict[str, Any]:
    """One complete measurement with ``n`` replicas; every fixture is fresh."""
    started = time.time()
    limits = Limits()
    spec = FarmSpec(args.feeds, args.items, seed=args.seed)
    farm_conn, farm_end = ctx.Pipe()
    farm = ctx.Process(target=farm_main, args=(farm_end, spec), daemon=True)
    farm.start()
    tg_conn, tg_end = ctx.Pipe()
    tg = ctx.Process(target=telegram_main, args=(tg_end, limits), daemon=True)
    tg.start()
    db_name = f"newsbot_bench_{n}"
    db: Db | None = None
    replicas: list[Replica] = []
    out: dict[str, Any] = {
        "n": n,
        "error": None,
        "total": args.feeds * args.items,
        "n_feeds": args.feeds,
    }
    try:
        tg_url = tg_conn.recv()
        _, farm_info = farm_conn.recv()
        print(f"[{n}] farm ready ({farm_info['gen_seconds']:.1f} s to generate)", flush=True)
        out["farm"] = {
            "page_kb": farm_info["raw_page_mean"] / 1000,
            "sent_kb": farm_info["sent_page_mean"] / 1000,
            "on_topic": sum(1 for v in farm_info["labels"].values() if v[0]),
        }
        db = Db(create_database(args.pg, db_name))
        for chat in args.chat_ids:
            for topic in TOPICS:
                db.store.subs.subscribe(chat, topic)
        helpers = {"farm": farm.pid, "telegram fake": tg.pid}
        try:
            replicas = [Replica(f"r{i}", work / f"n{n}-r{i}") for i in range(n)]
            _measure(n, args, db, replicas, farm_conn, farm_info["feeds"], tg_url, helpers, out)
        except BenchError as exc:
            out["error"] = str(exc)
            print(f"[{n}] {exc}", flush=True)
        finally:
            t_stop = time.monotonic()
            for r in replicas:
                r.terminate()
            for r in replicas:
                if r.proc is not None:
                    r.wait_stopped(t_stop, args.stop_timeout)
        # The replicas are gone: nothing more is sent, the record is complete.
        out["logs"] = {r.name: _log_summary(r.events(), out.get("t_pub", 0.0)) for r in replicas}
        out["stopped"] = {r.name: r.stopped for r in replicas}
        if "t_pub" in out:
            t_pub, t_drain = out["t_pub"], out["t_drain"]
            farm_conn.send("stats")
            tg_conn.send("stats")
            out.update(
                farm_stats=farm_conn.recv(),
                tg=tg_conn.recv(),
                limits=limits,
                item_rows=db.scalar("SELECT count(*) FROM items"),
                feeds_done=db.feeds_done(),
                articles=db.scalar("SELECT count(*) FROM articles"),
                matched=db.scalar("SELECT count(DISTINCT article_id) FROM matches"),
                stories=db.scalar("SELECT count(DISTINCT story_id) FROM articles"),
                outbox=db.rows(
                    "SELECT o.chat_id, a.url, o.status, o.created_at FROM outbox o "
                    "JOIN articles a ON a.id = o.article_id"
                ),
                rss={r.name: r.rss.peak(t_pub, t_drain) for r in replicas if r.rss},
            )
        out["wall"] = time.time() - started
        return out
    finally:
        for r in replicas:
            r.kill_group()
        for conn in (farm_conn, tg_conn):
            with contextlib.suppress(OSError):
                conn.send("stop")
        for proc in (farm, tg):
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        if db is not None:
            db.close()
        drop_database(args.pg, db_name)


def _measure(
    n: int,
    args: argparse.Namespace,
    db: Db,
    replicas: list[Replica],
    farm_conn: Any,
    feeds: list[str],
    tg_url: str,
    helpers: dict[str, int],
    out: dict[str, Any],
) -> None:
    """Start the replicas, wait for first sight, publish, time ingest and delivery."""
    for r in replicas:
        r.root.mkdir(parents=True)
        r.configure(feeds, tg_url, db.url, args)
    t_launch = time.time()
    for r in replicas:
        r.start()
    for r in replicas:
        wait_for(lambda r=r: r.has("cycle_done"), f"{r.name} polling", 120, replicas)
    wait_for(lambda: db.first_polled() == args.feeds, "every feed's first poll", 120, replicas)
    wait_for(
        lambda: any(r.has("telegram_polling_started") for r in replicas),
        "a leader polling Telegram",
        60,
        replicas,
    )
    out["startup"] = time.time() - t_launch
    print(f"[{n}] replicas up, first sight done in {out['startup']:.1f} s; publishing", flush=True)

    h0 = {k: _cpu(pid) for k, pid in helpers.items()}
    c0 = {r.name: r.cpu() for r in replicas}
    farm_conn.send("publish")
    out["t_pub"] = t_pub = farm_conn.recv()
    out["t_rec"] = out["t_drain"] = time.time()  # moved on as each phase completes
    wait_for(lambda: db.feeds_done() == args.feeds, "every item recorded", args.timeout, replicas)
    out["t_rec"] = out["t_drain"] = t_rec = time.time()
    c1 = {r.name: r.cpu() for r in replicas}
    out["cpu"] = (c0, c1, c1)
    out["helper_cpu"] = {k: _cpu(pid) - h0[k] for k, pid in helpers.items()}
    print(f"[{n}] every item recorded after {t_rec - t_pub:.1f} s", flush=True)
    wait_for(lambda: db.undelivered() == 0, "the outbox drained", args.timeout, replicas)
    out["t_drain"] = t_drain = time.time()
    out["cpu"] = (c0, c1, {r.name: r.cpu() for r in replicas})
    out["helper_cpu"] = {k: _cpu(pid) - h0[k] for k, pid in helpers.items()}
    print(f"[{n}] outbox drained after {t_drain - t_pub:.1f} s; stopping", flush=True)


def _cpu(pid: int) -> float:
    """One helper process's CPU seconds (the farm, the fake: not the replicas')."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _log_summary(events: list[dict[str, Any]], since: float) -> dict[str, Any]:
    """What one replica did after ``since`` (publish), from its own JSON log."""
    s: dict[str, Any] = {
        "cycles": 0,
        "feed_polls": 0,
        "new_items": 0,
        "matched": [],
        "sent": 0,
        "edited": 0,
        "last_new": None,
        "leader": False,
        "telegram": False,
        "ticks_skipped": 0,
        "problems": Counter(),
        "examples": {},
    }
    for e in events:
        name, level = e.get("event", ""), e.get("level", "")
        if name == "leadership_acquired":
            s["leader"] = True
        elif name == "telegram_polling_started":
            s["telegram"] = True
        if SKIPPED in name:  # a tick while the cycle still runs: expected under load
            s["ticks_skipped"] += 1
        elif level in ("warning", "error", "critical"):
            key = f"{level} {e.get('logger', '')}: {re.sub(r'[0-9]+', 'N', name)[:100]}"
            s["problems"][key] += 1
            s["examples"].setdefault(key, {k: v for k, v in e.items() if k != "exception"})
        ts = datetime.fromisoformat(e["ts"]).timestamp() if "ts" in e else 0.0
        if ts < since:
            continue
        if name == "cycle_done":
            s["cycles"] += 1
            s["feed_polls"] += e.get("feeds", 0)
            s["new_items"] += e.get("new_items", 0)
            if e.get("new_items"):
                s["last_new"] = ts
        elif name == "article_matched":
            s["matched"].append(e.get("url"))
        elif name == "alert_sent":
            s["sent"] += 1
        elif name == "alert_edited":
            s["edited"] += 1
    return s


# ========================================================================== analysis
def analyse(r: dict[str, Any]) -> dict[str, Any]:
    """Figures of one run: throughput, exactly-once delivery, latency, CPU, memory."""
    m: dict[str, Any] = {
        "n": r["n"],
        "error": r.get("error"),
        "total": r["total"],
        "n_feeds": r["n_feeds"],
        "logs": r["logs"],
        "stopped": r["stopped"],
        "farm": r.get("farm"),
        "_t_pub": r.get("t_pub", 0.0),
    }
    if "startup" in r:
        m["startup"] = r["startup"]
    logs = r["logs"]
    matched_urls = Counter(u for s in logs.values() for u in s["matched"])
    m["matched_twice"] = {u: c for u, c in matched_urls.items() if c > 1}
    m["leaders"] = [k for k, s in logs.items() if s["leader"]]
    m["telegram_pollers"] = [k for k, s in logs.items() if s["telegram"]]
    m["items_by_replica"] = {k: s["new_items"] for k, s in logs.items()}
    m["wall"] = r["wall"]
    if "t_pub" not in r:
        return m
    t_pub, t_rec, t_drain = r["t_pub"], r["t_rec"], r["t_drain"]
    first_served = r["farm_stats"]["first_served"]
    served_at = min(first_served.values()) if first_served else float("nan")
    m["detect"] = served_at - t_pub
    m["ingest_wall"] = t_rec - t_pub
    m["feeds_done"] = r["feeds_done"]
    m["processed"] = sum(m["items_by_replica"].values())
    m["item_rows"] = r["item_rows"]
    complete = not r.get("error") or "every item" not in r["error"]
    m["items"] = r["total"] if complete else min(m["processed"], r["total"])
    m["articles"] = r["articles"]
    m["rate"] = m["items"] / m["ingest_wall"] if m["ingest_wall"] > 0 else float("nan")
    m["rate_served"] = m["items"] / (t_rec - served_at) if t_rec > served_at else float("nan")
    m["matched"] = r["matched"]
    m["stories"] = r["stories"]

    # Exactly once: every outbox row (one per chat and story) -> one sendMessage
    # carrying its article's link; edits ("also reported by") are counted apart.
    expected: dict[tuple[int, str], str] = {}
    queued = []
    for chat, url, status, created in r["outbox"]:
        found = PATH_RE.search(url or "")
        key = (chat, found.group(0) if found else url)
        expected[key] = status
        queued.append((created.timestamp(), chat, key[1]))
    log = r["tg"]["log"]
    sends = [e for e in log if e[2] == "send"]
    edits = [e for e in log if e[2] == "edit"]
    per_key = Counter((chat, path) for _, chat, _, path in sends)
    m["queued"] = len(expected)
    m["outbox_status"] = dict(Counter(expected.values()))
    m["sent"] = len(sends)
    m["edits"] = len(edits)
    m["missing"] = sorted(k for k in expected if per_key[k] == 0)
    m["duplicates"] = {k: c for k, c in per_key.items() if c > 1}
    m["unexpected"] = sorted(k for k in per_key if k not in expected)
    m["unsent_rows"] = {k: s for k, s in expected.items() if s != "sent"}

    lat = [t - first_served[p] for t, _, _, p in sends if p in first_served]
    m["lat50"], m["lat95"] = percentile(lat, 0.5), percentile(lat, 0.95)
    m["lat_max"] = max(lat) if lat else float("nan")
    delivered = sends + edits
    if queued and delivered:
        start = min(t for t, _, _ in queued)
        end = max(e[0] for e in delivered)
        ideal = ideal_delivery_end(queued, r["limits"])
        m["deliver_rate"] = len(delivered) / (end - start) if end > start else float("nan")
        m["allowed_rate"] = len(queued) / (ideal - start) if ideal > start else float("nan")
        m["first_queued"] = start - t_pub
        m["last_send"] = end - t_pub
    m["drain_wall"] = t_drain - t_pub
    m["refused"] = dict(r["tg"]["refused"])
    m["r429"] = sum(m["refused"].values())

    if "cpu" not in r:  # the ingest wait failed: no CPU window
        return m
    c0, c1, c2 = r["cpu"]
    n_items = max(m["items"], 1)

    def spent(a: dict, b: dict, part: slice = slice(0, 2)) -> float:
        """CPU between two snapshots, summed over replicas: bot (0), extraction (1)."""
        return sum(sum(b[k][part]) - sum(a[k][part]) for k in b)

    m["cpu_ingest"] = spent(c0, c1)
    m["cpu_all"] = spent(c0, c2)
    m["cpu_main"] = spent(c0, c2, slice(0, 1))
    m["cpu_extract"] = spent(c0, c2, slice(1, 2))
    m["cpu_per_article"] = m["cpu_ingest"] * 1e3 / n_items
    m["cpu_per_article_all"] = m["cpu_all"] * 1e3 / n_items
    m["cpu_busy"] = m["cpu_ingest"] / m["ingest_wall"] if m["ingest_wall"] > 0 else float("nan")
    m["cpu_by_replica"] = {k: c2[k][0] - c0[k][0] + c2[k][1] - c0[k][1] for k in c2}
    m["helper_cpu"] = r["helper_cpu"]
    m["rss"] = {k: v[0] for k, v in r["rss"].items()}
    m["pss"] = {k: v[1] for k, v in r["rss"].items()}
    m["procs"] = {k: v[2] for k, v in r["rss"].items()}
    return m


# ========================================================================= reporting
def fmt(v: Any, spec: str = ".1f") -> str:
    """A table cell: strings as they are, NaN and None as a dash."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v != v:
        return "–"
    return format(v, spec)


def ratio(a: Any, b: Any) -> str:
    """b / a for numbers (last column over first), else a dash."""
    ok = all(isinstance(x, int | float) and x == x for x in (a, b))
    return f"{b / a:.2f}×" if ok and a else "–"


def per_replica(d: dict[str, Any], spec: str = ".0f", scale: float = 1.0) -> str:
    """One figure per replica, r0 / r1 / …, in one cell."""
    return " / ".join(fmt(v * scale, spec) for _, v in sorted(d.items()))


class Columns:
    """A table with a column per replica count, and last/first as the ratio."""

    WIDTH = 20

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        self.runs, self.lines = runs, []
        cols = [f"{m['n']} replica{'s' if m['n'] > 1 else ''}" for m in runs]
        head = f"ratio {runs[-1]['n']}/{runs[0]['n']}" if len(runs) > 1 else ""
        self.lines.append(
            f"{'':48}" + "".join(f"{c:>{self.WIDTH}}" for c in cols) + f"{head:>{self.WIDTH}}"
        )

    def row(self, name: str, key: Callable[[dict], Any], spec: str = ".1f", r: bool = True) -> None:
        """``key(run)`` in each column; a run without that figure shows a dash."""
        vals = []
        for m in self.runs:
            try:
                vals.append(key(m))
            except (KeyError, TypeError, ValueError):
                vals.append(None)
        cells = "".join(f"{fmt(v, spec):>{self.WIDTH}}" for v in vals)
        rat = ratio(vals[0], vals[-1]) if r and len(vals) > 1 else ""
        self.lines.append(f"{name:48}{cells}{rat:>{self.WIDTH}}")

    def section(self, title: str) -> None:
        self.lines += ["", title]


def report(args: argparse.Namespace, runs: list[dict[str, Any]]) -> str:
    """One table: a column per replica count, and last/first as the ratio."""
    t = Columns(runs)
    for section in (_ingest, _work_split, _alerts, _cpu_memory, _lifecycle):
        section(t)
    return "\n".join(t.lines)


def _ingest(t: Columns) -> None:
    t.section("ingest (publish → every feed's items recorded, i.e. its new ETag saved)")
    t.row(
        "  feeds with every item recorded", lambda m: f"{m['feeds_done']} / {m['n_feeds']}", r=False
    )
    t.row(
        "  items published / processed (sum of logs)",
        lambda m: f"{m['total']} / {m['processed']}",
        r=False,
    )
    t.row("  items table rows (one per identity key)", lambda m: m["item_rows"], ".0f", r=False)
    t.row("  first feed served after publish, s", lambda m: m["detect"], ".2f")
    t.row("  wall time, s", lambda m: m["ingest_wall"])
    t.row("  throughput, articles/s", lambda m: m["rate"])
    t.row("    counted from the first feed served", lambda m: m["rate_served"])
    t.row("  matched articles / stories", lambda m: f"{m['matched']} / {m['stories']}", r=False)


def _work_split(t: Columns) -> None:
    t.section("work split (from each replica's JSON log, after publish)")
    t.row("  new items per replica", lambda m: per_replica(m["items_by_replica"]), r=False)
    t.row(
        "  feed polls per replica (incl. 304s)",
        lambda m: per_replica({k: s["feed_polls"] for k, s in m["logs"].items()}),
        r=False,
    )
    t.row(
        "  cycles per replica",
        lambda m: per_replica({k: s["cycles"] for k, s in m["logs"].items()}),
        r=False,
    )
    t.row(
        "  articles matched per replica",
        lambda m: per_replica({k: len(s["matched"]) for k, s in m["logs"].items()}),
        r=False,
    )
    t.row(
        "  last new item done, s after publish",
        lambda m: per_replica(
            {
                k: (s["last_new"] - m["_t_pub"]) if s["last_new"] else float("nan")
                for k, s in m["logs"].items()
            },
            ".1f",
        ),
        r=False,
    )
    t.row(
        "  cycle ticks skipped (a cycle still ran)",
        lambda m: per_replica({k: s["ticks_skipped"] for k, s in m["logs"].items()}),
        r=False,
    )
    t.row("  leader (sends to Telegram)", lambda m: ",".join(m["leaders"]) or "none", r=False)
    t.row(
        "  alerts sent per replica (alert_sent)",
        lambda m: per_replica({k: s["sent"] for k, s in m["logs"].items()}),
        r=False,
    )


def _alerts(t: Columns) -> None:
    t.section("alerts (every outbox row must be one sendMessage with its link)")
    t.row("  queued (outbox rows)", lambda m: m["queued"], ".0f")
    t.row("  sent (sendMessage accepted)", lambda m: m["sent"], ".0f")
    t.row("  edited in place (also reported by)", lambda m: m["edits"], ".0f")
    t.row("  missing (row never sent)", lambda m: len(m["missing"]), ".0f", r=False)
    t.row(
        "  duplicates (chat, article) sent twice+", lambda m: len(m["duplicates"]), ".0f", r=False
    )
    t.row("  unexpected (no outbox row)", lambda m: len(m["unexpected"]), ".0f", r=False)
    t.row(
        "  same article matched by 2+ replicas", lambda m: len(m["matched_twice"]), ".0f", r=False
    )
    t.row("  latency p50, s (first served → sendMessage)", lambda m: m["lat50"])
    t.row("  latency p95, s", lambda m: m["lat95"])
    t.row("  latency max, s", lambda m: m["lat_max"])
    t.row("  first alert queued, s after publish", lambda m: m["first_queued"])
    t.row("  last message, s after publish", lambda m: m["last_send"])
    t.row("  delivery rate achieved, msg/s", lambda m: m["deliver_rate"])
    t.row("  delivery rate allowed by the limits, msg/s", lambda m: m["allowed_rate"])
    t.row("  429 Too Many Requests", lambda m: m["r429"], ".0f")


def _cpu_memory(t: Columns) -> None:
    t.section("CPU and memory (each replica's process tree, psutil)")
    t.row("  CPU during ingest, s (all replicas)", lambda m: m["cpu_ingest"])
    t.row("  CPU per article during ingest, ms", lambda m: m["cpu_per_article"], ".2f")
    t.row("  CPU publish → drained, s", lambda m: m["cpu_all"])
    t.row("    bot processes", lambda m: m["cpu_main"])
    t.row("    extraction (forkserver + workers)", lambda m: m["cpu_extract"])
    t.row("  CPU per article, publish → drained, ms", lambda m: m["cpu_per_article_all"], ".2f")
    t.row("  cores busy during ingest (of 2)", lambda m: m["cpu_busy"], ".2f")
    t.row(
        "  CPU per replica publish → drained, s",
        lambda m: per_replica(m["cpu_by_replica"], ".1f"),
        r=False,
    )
    t.row(
        "  peak RSS per replica tree, MB", lambda m: per_replica(m["rss"], ".0f", 1 / MB), r=False
    )
    t.row(
        "  peak RSS, all replicas (sum of peaks), MB", lambda m: sum(m["rss"].values()) / MB, ".0f"
    )
    t.row(
        "  peak PSS, all replicas (sum of peaks), MB", lambda m: sum(m["pss"].values()) / MB, ".0f"
    )
    t.row("  farm CPU (not counted above), s", lambda m: m["helper_cpu"]["farm"])
    t.row("  fake Bot API CPU (not counted above), s", lambda m: m["helper_cpu"]["telegram fake"])


def _lifecycle(t: Columns) -> None:
    t.section("lifecycle")
    t.row("  start → first sight of every feed, s", lambda m: m["startup"])
    t.row(
        "  SIGTERM → exit, s (exit codes)",
        lambda m: " / ".join(
            f"{s:.1f} ({'killed' if c is None else c})" for c, s in m["stopped"].values()
        ),
        r=False,
    )
    t.row("  bench wall time for this column, s", lambda m: m["wall"], ".0f")


def details(runs: list[dict[str, Any]]) -> str:
    """What the table cannot show: which alerts went wrong, and what the logs warned about."""
    lines: list[str] = []
    w = lines.append
    for m in runs:
        tag = f"{m['n']} replica(s)"
        if m.get("error"):
            w(f"{tag}: RUN INCOMPLETE: {m['error']}")
        if "queued" not in m:
            continue
        if m["missing"]:
            w(f"{tag}: {len(m['missing'])} alerts never sent, e.g. {m['missing'][:5]}")
        if m["unsent_rows"]:
            w(f"{tag}: outbox rows not 'sent': {Counter(m['unsent_rows'].values())}")
        if m["duplicates"]:
            some = list(m["duplicates"].items())[:5]
            w(f"{tag}: {len(m['duplicates'])} (chat, article) sent more than once, e.g. {some}")
        if m["unexpected"]:
            w(f"{tag}: {len(m['unexpected'])} sends with no outbox row, e.g. {m['unexpected'][:5]}")
        if m["matched_twice"]:
            w(f"{tag}: articles matched by more than one replica: {list(m['matched_twice'])[:5]}")
        if len(m["leaders"]) != 1 or m["telegram_pollers"] != m["leaders"]:
            w(f"{tag}: leaders {m['leaders']}, Telegram pollers {m['telegram_pollers']}")
        if m["refused"]:
            w(f"{tag}: 429s by limit: {m['refused']}")
        for name, s in sorted(m["logs"].items()):
            if s["problems"]:
                w(f"{tag}: {name} log warnings/errors: {dict(s['problems'])}")
                for key, example in s["examples"].items():
                    w(f"    {key}: {json.dumps(example, default=str)[:300]}")
    return "\n".join(lines)


# ============================================================================== main
def main() -> None:
    """Run each replica count in turn (never at once: they would share the 2 cores)."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--replicas", default="1,2", help="replica counts to run, e.g. 1,2")
    ap.add_argument("--feeds", type=int, default=50)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="10 feeds × 20 items")
    ap.add_argument("--chats", type=int, default=20, help="private chats, all topics")
    ap.add_argument("--workers", type=int, default=2, help="extract.workers of each replica")
    ap.add_argument("--host-interval", type=float, default=0.05)
    ap.add_argument("--poll-interval", type=float, default=1.0, help="poll_interval_seconds")
    ap.add_argument("--seed", type=int, default=840)
    ap.add_argument("--timeout", type=float, default=900, help="per wait (ingest, drain), s")
    ap.add_argument("--stop-timeout", type=float, default=20, help="SIGTERM → SIGKILL, s")
    ap.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="maintenance DB the bench creates its databases from",
    )
    args = ap.parse_args()
    if args.quick:
        args.feeds, args.items = 10, 20
    counts = [int(x) for x in args.replicas.split(",") if x.strip()]
    args.chat_ids = [1000 + i for i in range(args.chats)]
    started = time.time()
    load = os.getloadavg()
    ctx = multiprocessing.get_context("spawn")
    runs = []
    with tempfile.TemporaryDirectory(prefix="newsbot-replica-bench-") as tmp:
        for n in counts:
            print(f"=== {n} replica(s): {args.feeds} feeds × {args.items} items", flush=True)
            raw = run_replicas(n, args, ctx, Path(tmp))
            runs.append(analyse(raw))
    cmd = " ".join([".venv/bin/python", "bench/replica_bench.py", *sys.argv[1:]])
    print()
    print(cmd)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, load before "
        f"{load[0]:.2f}, total bench time {time.time() - started:.0f} s; {code_version()}"
    )
    info = next((r for r in runs if "queued" in r), None)
    farm = next((r["farm"] for r in runs if r.get("farm")), None)
    pages = (
        f"pages {farm['page_kb']:.0f} kB ({farm['sent_kb']:.0f} kB gzip), "
        f"{farm['on_topic']} on topic, "
        if farm
        else ""
    )
    print(
        f"farm: {args.feeds} feeds × {args.items} items on {args.feeds} loopback hosts, {pages}"
        f"empty at first sight then published at once (seed {args.seed}); "
        f"{args.chats} private chats on all topics; fake Bot API with flood limits"
    )
    print(
        f"replicas: `python -m bot run` on one PostgreSQL database each run; "
        f"{args.workers} extraction workers each; poll_interval {args.poll_interval:g} s "
        f"(adaptive off); per-host interval {args.host_interval:g} s"
    )
    print(
        f"NOTE: this machine has {os.cpu_count()} cores; the replicas share them (plus "
        f"{args.workers} extraction workers each, the farm and the fake Bot API), so the "
        "multi-replica column shows that the coordination works and what it costs, "
        "not what extra hardware would give."
    )
    print(report(args, runs))
    extra = details(runs)
    print()
    print(extra or "no missing, duplicate or unexpected alert; no warning or error in the logs")
    if info is None:
        print("no run completed")


if __name__ == "__main__":
    main()
