"""Shared machinery for bench/pipeline_bench.py and bench/unchanged_bench.py.

- ``farm_main``: the loopback news farm, in its own process (so its CPU is not
  the bot's): one asyncio HTTP/1.1 server per feed host (127.0.1.1, 127.0.2.1, …),
  keep-alive, gzip, ETag/304, and a record of when each item was first served.
- ``telegram_main``: tests/fakes' FakeBotAPI, in its own process, subclassed to
  enforce Telegram's flood limits with 429 + retry_after, recording each send;
  ``ideal_delivery_end``: the soonest those limits let a set of alerts out.
- ``RssSampler``: RSS (and PSS) of a process tree, sampled from outside it;
  ``tree_cpu``: its CPU by role (bot, extraction workers).

CPU per pipeline stage comes from the pipeline's observer hooks (bench/stages.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import re
import resource
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz0123"  # tests.fakes DEFAULT_TOKEN
PATH_RE = re.compile(r"/f\d+/a\d+\.html")


# ----------------------------------------------------------------------------- farm
@dataclass
class FarmSpec:
    feeds: int
    items: int
    seed: int = 840
    on_topic: float = 0.05
    teaser_share: float = 0.10
    gzip: bool = True
    start_full: bool = False  # serve the items from the start (no empty first phase)
    pages: bool = True  # generate article pages (False: feeds only, small items)
    latency: float = 0.0  # seconds each response waits before it is sent (server think time)


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Farm:
    """State of the farm process: feeds, pages, counters, first-served times."""

    def __init__(self, spec: FarmSpec, port: int) -> None:
        from farmgen import Generator, Item, feed_host, filtered_vocab, load_positives, now_utc, rss

        from bot.rules.file import load_rules
        from bot.rules.matcher import Matcher

        self.spec = spec
        started = time.perf_counter()
        matcher = Matcher(load_rules(ROOT / "config" / "rules.yaml"))
        gen = Generator(filtered_vocab(matcher), load_positives(matcher), spec.seed)
        total = spec.feeds * spec.items
        rng = random.Random(spec.seed)
        on = set(rng.sample(range(total), round(total * spec.on_topic)))
        off = [i for i in range(total) if i not in on]
        teaser = set(rng.sample(off, round(len(off) * spec.teaser_share)))
        now = now_utc()
        self.hosts = [feed_host(f) for f in range(spec.feeds)]
        self.port = port
        self.by_host: dict[str, int] = {h: i for i, h in enumerate(self.hosts)}
        self.items: list[list[Item]] = []
        self.pages: dict[str, bytes] = {}
        self.labels: dict[str, tuple[bool, bool, str, int]] = {}
        raw_sizes, sent_sizes = [], []
        for f in range(spec.feeds):
            host_url = f"http://{self.hosts[f]}:{port}"
            items = []
            for j in range(spec.items):
                n = f * spec.items + j
                if spec.pages:
                    it = gen.item(
                        feed=f,
                        index=j,
                        host_url=host_url,
                        outlet=f"Outlet {f}",
                        on_topic=n in on,
                        teaser_topic=n in teaser,
                        compress=spec.gzip,
                        now=now,
                    )
                    self.pages[it.path] = it.page
                    raw_sizes.append(it.raw_size)
                    sent_sizes.append(len(it.page))
                else:
                    r = random.Random(f"{spec.seed}-{f}-{j}")
                    title = gen.headline(r, "en")
                    it = Item(
                        f"/f{f}/a{j}.html",
                        title,
                        gen.sentence(r, "en"),
                        "en",
                        False,
                        False,
                        0,
                        b"",
                        0,
                    )
                self.labels[it.path] = (it.on_topic, it.teaser_topic, it.lang, it.words)
                items.append(it)
            self.items.append(items)
        self.feed_docs: list[tuple[bytes, bytes]] = []  # (empty, full), encoded as served
        for f, items in enumerate(self.items):
            host_url = f"http://{self.hosts[f]}:{port}"
            empty = rss(f"Outlet {f}", host_url, [], now)
            full = rss(f"Outlet {f}", host_url, items, now)
            self.feed_docs.append((self._encode(empty), self._encode(full)))
        self.gen_seconds = time.perf_counter() - started
        self.raw_page_mean = sum(raw_sizes) / len(raw_sizes) if raw_sizes else 0
        self.sent_page_mean = sum(sent_sizes) / len(sent_sizes) if sent_sizes else 0
        self.full = spec.start_full
        self.published_at: float | None = time.time() if spec.start_full else None
        self.first_served: dict[str, float] = {}
        self.counts: dict[str, int] = defaultdict(int)

    def _encode(self, body: bytes) -> bytes:
        import gzip

        return gzip.compress(body, 6, mtime=0) if self.spec.gzip else body

    def respond(self, host: str, target: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
        """(head, body) for one GET."""
        path = target.split("?", 1)[0]
        enc = self.spec.gzip and "gzip" in headers.get("accept-encoding", "")
        feed = self.by_host.get(host)
        if path == "/feed.xml" and feed is not None:
            etag = '"full"' if self.full else '"empty"'
            if headers.get("if-none-match") == etag:
                self.counts["feed_304"] += 1
                return response_head(304, [("ETag", etag)], None), b""
            body = self.feed_docs[feed][1 if self.full else 0]
            if self.full:
                now = time.time()
                for it in self.items[feed]:
                    self.first_served.setdefault(it.path, now)
                self.counts["feed_200_items"] += 1
            else:
                self.counts["feed_200_empty"] += 1
            return self._body(body, enc, "application/rss+xml; charset=utf-8", etag)
        page = self.pages.get(path)
        if page is not None and self.full:
            self.counts["page"] += 1
            return self._body(page, enc, "text/html; charset=utf-8", None)
        self.counts["not_found"] += 1
        return response_head(404, [("Content-Type", "text/plain")], 9), b"not found"

    def _body(self, body: bytes, enc: bool, ctype: str, etag: str | None) -> tuple[bytes, bytes]:
        import gzip

        headers = [("Content-Type", ctype)]
        if etag:
            headers.append(("ETag", etag))
        if self.spec.gzip and enc:
            headers.append(("Content-Encoding", "gzip"))
        elif self.spec.gzip:
            body = gzip.decompress(body)
        self.counts["bytes"] += len(body)
        return response_head(200, headers, len(body)), body


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


def response_head(status: int, headers: list[tuple[str, str]], length: int | None) -> bytes:
    """An HTTP/1.1 status line and headers, for the loopback farms."""
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    """(method, path, lower-cased headers) of the next request; None once the client is gone."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1] if len(parts) > 1 else "/", headers


async def _serve_conn(farm: Farm, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    host = writer.get_extra_info("sockname")[0]
    farm.counts["connections"] += 1
    try:
        while (request := await read_request(reader)) is not None:
            method, path, headers = request
            if farm.spec.latency:
                await asyncio.sleep(farm.spec.latency)
            head, body = farm.respond(host, path, headers)
            writer.write(head + body if method != "HEAD" else head)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except ConnectionError:
        pass
    finally:
        writer.close()


async def bind_hosts(handler: Any, hosts: list[str], backlog: int) -> list[asyncio.AbstractServer]:
    """One server per farm address, all on one port (a URL per host differs by address only)."""
    for _ in range(20):
        servers: list[asyncio.AbstractServer] = []
        try:
            servers.append(await asyncio.start_server(handler, hosts[0], 0, backlog=backlog))
            port = servers[0].sockets[0].getsockname()[1]
            for host in hosts[1:]:
                servers.append(await asyncio.start_server(handler, host, port, backlog=backlog))
            return servers
        except OSError:
            for s in servers:
                s.close()
    raise RuntimeError("no port free on every farm address")


def farm_main(conn: Any, spec: FarmSpec) -> None:
    """Process entry: build the farm, serve it, obey ("publish" | "stats" | "stop")."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    _raise_nofile()
    from farmgen import feed_host

    hosts = [feed_host(f) for f in range(spec.feeds)]
    holder: list[Farm] = []
    loop = asyncio.new_event_loop()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_conn(holder[0], reader, writer)

    servers = loop.run_until_complete(bind_hosts(handler, hosts, backlog=256))
    farm = Farm(spec, servers[0].sockets[0].getsockname()[1])
    holder.append(farm)
    stop = threading.Event()

    def control() -> None:
        conn.send(
            (
                "ready",
                {
                    "port": farm.port,
                    "feeds": [f"http://{h}:{farm.port}/feed.xml" for h in farm.hosts],
                    "labels": farm.labels,
                    "gen_seconds": farm.gen_seconds,
                    "raw_page_mean": farm.raw_page_mean,
                    "sent_page_mean": farm.sent_page_mean,
                },
            )
        )
        while True:
            try:
                cmd = conn.recv()
            except EOFError:
                cmd = "stop"
            if cmd == "publish":

                def publish() -> float:
                    farm.full, farm.published_at = True, time.time()
                    return farm.published_at

                fut = asyncio.run_coroutine_threadsafe(_call(publish), loop)
                conn.send(fut.result())
            elif cmd == "stats":

                def stats() -> dict:
                    return {
                        "first_served": dict(farm.first_served),
                        "counts": dict(farm.counts),
                        "published_at": farm.published_at,
                    }

                conn.send(asyncio.run_coroutine_threadsafe(_call(stats), loop).result())
            elif cmd == "stop":
                stop.set()
                loop.call_soon_threadsafe(loop.stop)
                return

    threading.Thread(target=control, daemon=True).start()
    loop.run_forever()
    for s in servers:
        s.close()


async def _call(fn: Any) -> Any:
    return fn()


# ------------------------------------------------------------------------- telegram
@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits as enforced by the fake (sliding windows)."""

    overall: int = 30  # messages per second, all chats together
    per_chat_seconds: float = 1.0  # one message per chat per this many seconds
    group: int = 20  # messages per minute to one group (chat id < 0)
    slack: float = 0.05  # windows are this much shorter, for network jitter


def telegram_main(conn: Any, limits: Limits) -> None:
    """Process entry: a rate-limited FakeBotAPI; obey ("stats" | "stop")."""
    from tests.fakes.telegram_api import FakeBotAPI
    from tests.fakes.telegram_wire import ApiError

    class RateLimitedBotAPI(FakeBotAPI):
        """FakeBotAPI that answers 429 + retry_after when a flood limit is exceeded."""

        def __init__(self) -> None:
            super().__init__(TOKEN)
            self.limits = limits
            self.window: deque[float] = deque()
            self.last: dict[int, float] = {}
            self.groups: dict[int, deque[float]] = defaultdict(deque)
            self.refused: dict[str, int] = defaultdict(int)
            self.log: list[tuple[float, int, str, str | None]] = []

        def _admit(self, chat: Any) -> None:
            now = time.time()
            lim = self.limits
            keep = 1 - lim.slack
            while self.window and self.window[0] <= now - 1.0 * keep:
                self.window.popleft()
            wait, why = 0.0, ""
            if len(self.window) >= lim.overall:
                wait, why = self.window[0] + 1.0 * keep - now, "overall"
            if isinstance(chat, int):
                last = self.last.get(chat)
                if last is not None and now - last < lim.per_chat_seconds * keep:
                    w = last + lim.per_chat_seconds * keep - now
                    if w > wait:
                        wait, why = w, "chat"
                if chat < 0:
                    q = self.groups[chat]
                    while q and q[0] <= now - 60.0 * keep:
                        q.popleft()
                    if len(q) >= lim.group:
                        w = q[0] + 60.0 * keep - now
                        if w > wait:
                            wait, why = w, "group"
            if why:
                self.refused[why] += 1
                retry = max(1, math.ceil(wait))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
            self.window.append(now)
            if isinstance(chat, int):
                self.last[chat] = now
                if chat < 0:
                    self.groups[chat].append(now)

        def _logged(self, method: str, params: dict, fn: Any) -> Any:
            try:
                self._admit(params.get("chat_id"))
            except ApiError:
                self.log.append((time.time(), params.get("chat_id"), "refused", None))
                raise
            result = fn(params)
            found = PATH_RE.search(str(params.get("text", "")))
            self.log.append(
                (time.time(), params.get("chat_id"), method, found.group(0) if found else None)
            )
            return result

        def send_message(self, params: dict) -> Any:
            return self._logged("send", params, super().send_message)

        def edit_message_text(self, params: dict) -> Any:
            return self._logged("edit", params, super().edit_message_text)

    api = RateLimitedBotAPI()
    api.start()
    conn.send(api.base_url)
    while True:
        try:
            cmd = conn.recv()
        except EOFError:
            cmd = "stop"
        if cmd == "stats":
            with api._cond:
                conn.send({"log": list(api.log), "refused": dict(api.refused)})
        elif cmd == "stop":
            api.stop()
            return


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


# ----------------------------------------------------------------------------- rss
class RssSampler:
    """Samples RSS (every ``interval``) and PSS (every 5th sample) of a process tree."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.interval = interval
        self._cmd: dict[int, list[str]] = {}
        self.samples: list[tuple[float, int, int | None, int]] = []  # (t, rss, pss, procs)
        self.roles: list[dict[str, int]] = []  # RSS by role, per sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psutil

        n = 0
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                return
            rss, pss = 0, 0 if n % 5 == 0 else None
            roles: dict[str, int] = defaultdict(int)
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    if pss is not None:
                        info = p.memory_full_info()
                        rss += info.rss
                        pss += info.pss
                    else:
                        info = p.memory_info()
                        rss += info.rss
                    roles[self._role(p)] += info.rss
            self.samples.append((time.time(), rss, pss, len(procs)))
            self.roles.append(dict(roles))
            n += 1
            self._stop.wait(self.interval)

    def _role(self, p: Any) -> str:
        if p.pid == self.proc.pid:
            return "main"
        if p.pid not in self._cmd:
            self._cmd[p.pid] = [str(p.ppid()), *_cmdline(p)]
        parent, *cmd = self._cmd[p.pid]
        text = " ".join(cmd)
        if int(parent) != self.proc.pid or "bot.analysis.worker" in text:
            return "workers"
        if "forkserver" in text:
            return "forkserver"
        if "resource_tracker" in text:
            return "tracker"
        return "children"

    def peak_roles(self, start: float = 0.0, end: float = math.inf) -> dict[str, int]:
        """Each role's own peak RSS in the window."""
        out: dict[str, int] = defaultdict(int)
        for (t, *_), roles in zip(self.samples, self.roles, strict=False):
            if start <= t <= end:
                for role, v in roles.items():
                    out[role] = max(out[role], v)
        return dict(out)

    def peak(self, start: float = 0.0, end: float = math.inf) -> tuple[int, int, int]:
        """(peak RSS, peak PSS, most processes) between two times."""
        window = [s for s in self.samples if start <= s[0] <= end]
        if not window:
            return 0, 0, 0
        return (
            max(s[1] for s in window),
            max((s[2] for s in window if s[2] is not None), default=0),
            max(s[3] for s in window),
        )


def _cmdline(p: Any) -> list[str]:
    try:
        return p.cmdline()
    except Exception:
        return []


def process_cpu() -> float:
    """This process's CPU seconds, all threads (getrusage: microsecond resolution)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def tree_cpu(pid: int) -> dict[str, float]:
    """User+system CPU seconds of a bot process's tree, by role: main and workers.

    The extraction workers are the bot's direct children (``python -m
    bot.analysis.worker``); a worker that exited has been waited for by the bot, so
    its CPU is in the bot's ``children_*`` times and none is lost between two
    snapshots. ``forkserver`` stays in the result (always 0 since the pool stopped
    using multiprocessing) so reports written for it still read.
    """
    import psutil

    root = psutil.Process(pid)
    t = root.cpu_times()
    out = {"main": t.user + t.system, "forkserver": 0.0}
    out["workers"] = t.children_user + t.children_system
    for p in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            c = p.cpu_times()
            out["workers"] += c.user + c.system
    return out


# --------------------------------------------------------------------------- config
def write_config(
    root: Path,
    feeds: list[str],
    telegram_url: str,
    *,
    host_interval: float,
    extra: dict | None = None,
) -> Path:
    """A config dir like tests/conftest.py's Harness writes, with production defaults
    everywhere except what a loopback farm needs."""
    import shutil

    import yaml

    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config" / "rules.yaml", config / "rules.yaml")
    settings: dict[str, Any] = {
        "state_dir": str(root / "state"),
        "log_level": "INFO",
        "fetch": {"allow_loopback": True, "per_host_interval_seconds": host_interval},
        "telegram": {"base_url": telegram_url, "poll_timeout_seconds": 1},
    }
    for key, value in (extra or {}).items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    (config / "settings.yaml").write_text(yaml.safe_dump(settings))
    entries = [{"url": u, "name": f"Outlet {i}", "language": "de"} for i, u in enumerate(feeds)]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": entries}, allow_unicode=True))
    return config


def bot_process_setup(workdir: Path) -> None:
    """Environment of a bot process: token, cwd, production logging to a file."""
    os.environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    os.chdir(workdir)  # load_settings reads .env from the working directory
    sys.stderr = open(workdir / "bot.log", "a", buffering=1)  # noqa: SIM115
    from bot.app.logs import setup_logging

    setup_logging("INFO", secrets=(TOKEN,))


def profiled(enabled: bool):
    """A cProfile context (or a no-op); ``.text(n)`` gives the top ``n`` by own time."""

    class _P:
        def __init__(self) -> None:
            import cProfile

            self.prof = cProfile.Profile() if enabled else None

        def __enter__(self) -> _P:
            if self.prof:
                self.prof.enable()
            return self

        def __exit__(self, *exc: object) -> None:
            if self.prof:
                self.prof.disable()

        def text(self, n: int = 30) -> str:
            if not self.prof:
                return ""
            import io
            import pstats

            out = io.StringIO()
            stats = pstats.Stats(self.prof, stream=out)
            stats.sort_stats("tottime").print_stats(n)
            lines = out.getvalue().splitlines()
            start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
            return "\n".join(ln.replace(str(ROOT) + "/", "") for ln in lines[start:] if ln)

    return _P()


def code_version() -> str:
    """The commit measured, and whether bot/ had uncommitted changes (others edit it)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "bot")
    return f"bot/ at commit {head}" + (" with uncommitted changes" if dirty else "")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
