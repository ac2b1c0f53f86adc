"""The worker pool: one job's deadline or crash costs that job only, and nothing hangs.

A stuck job is killed with its worker at its own deadline, counted from when a
worker took it; the jobs behind it run in a fresh worker. A worker that dies
fails only the job it was running. Workers are recycled after their quota of
jobs without stranding a backlog (what Python 3.11-3.13's own
``max_tasks_per_child`` does, CPython gh-115634), and closing the pool with jobs
still queued must not hang exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings
from bot.core.errors import ExtractError
from tests.helpers.harness import ROOT


def worker_pid(_job: int) -> int:
    """Runs in a worker: which process did the job."""
    return os.getpid()


@pytest.mark.slow  # retires and restarts whole worker pools many times
async def test_a_backlog_far_beyond_the_recycle_quota_completes() -> None:
    extractor = WorkerPool(ExtractSettings(workers=2, max_tasks_per_child=3))
    try:
        async with asyncio.timeout(60):
            pids = await asyncio.gather(*(extractor.run(worker_pid, i) for i in range(40)))
    finally:
        extractor.close()
    assert len(pids) == 40
    assert extractor.recycled >= 40 // 3 - 2, "workers were replaced after 3 jobs each"
    per_process = {pid: pids.count(pid) for pid in set(pids)}
    assert max(per_process.values()) <= 3, per_process
    assert len(per_process) >= 40 // 3, "fresh workers took over"


@pytest.mark.process
def test_closing_with_jobs_queued_does_not_hang_exit(tmp_path: Path) -> None:
    marker = tmp_path / "busy"
    code = f"""
import asyncio, pathlib, time
from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings

async def main():
    ex = WorkerPool(ExtractSettings(workers=1))
    marker = pathlib.Path({str(marker)!r})
    jobs = [asyncio.ensure_future(ex.run(pathlib.Path.touch, marker))]
    jobs += [asyncio.ensure_future(ex.run(time.sleep, 30))]  # the worker is busy
    jobs += [asyncio.ensure_future(ex.run(len, b"x" * 4_000_000)) for _ in range(4)]
    for _ in range(600):  # until the worker has started (poll, bounded)
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    ex.close()  # big jobs are stuck half-written to the dead worker's pipe
    await asyncio.gather(*jobs, return_exceptions=True)

asyncio.run(main())
print("exited")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "exited" in out.stdout, out.stderr[-2000:]


def sleeper(marker: str) -> int:
    """Runs in a worker: says it started, then never finishes in time."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(60)
    return os.getpid()


def crasher(_job: int) -> int:
    """Runs in a worker: dies the way a segfaulting extractor does."""
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


async def test_a_job_past_its_deadline_is_killed_with_its_worker_and_only_it_fails(
    tmp_path: Path,
) -> None:
    """The jobs queued behind a stuck one wait for a worker, and their clock starts then.

    Each job has 2.5 s: enough for a fresh worker to import the job's module and
    run it on a loaded machine, but the last job is queued 1.5 + 3 × 0.5 s, so a
    clock started at submission would fail it.
    """
    pool = WorkerPool(ExtractSettings(workers=1, timeout_seconds=2.5))
    marker = tmp_path / "pid"
    try:
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                pool.run(sleeper, str(marker), deadline=1.5),
                *(pool.run(slow_pid, 0.5) for _ in range(4)),  # 2 s queued behind it
                return_exceptions=True,
            )
    finally:
        pool.close()
    stuck, *innocent = results
    assert isinstance(stuck, ExtractError), stuck
    assert "took over 1.5 s" in str(stuck)
    assert all(isinstance(r, int) for r in innocent), innocent
    assert not alive(int(marker.read_text())), "the stuck job's worker was killed"
    assert int(marker.read_text()) not in innocent, "the others ran in a fresh worker"


async def test_a_worker_crash_fails_only_the_job_it_was_running() -> None:
    pool = WorkerPool(ExtractSettings(workers=2, timeout_seconds=20))
    try:
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(pool.run(slow_pid, 0.2) for _ in range(3)),
                pool.run(crasher, 0),
                *(pool.run(slow_pid, 0.2) for _ in range(3)),
                return_exceptions=True,
            )
    finally:
        pool.close()
    crashed = results.pop(3)
    assert all(isinstance(r, int) for r in results), results
    assert isinstance(crashed, ExtractError), crashed
    assert "worker crashed" in str(crashed) and "SIGKILL" in str(crashed)


async def test_a_cancelled_job_takes_its_worker_down_and_the_pool_goes_on(
    tmp_path: Path,
) -> None:
    pool = WorkerPool(ExtractSettings(workers=1, timeout_seconds=20))
    marker = tmp_path / "pid"
    try:
        job = asyncio.ensure_future(pool.run(sleeper, str(marker)))
        for _ in range(400):  # until it runs in the worker (poll, bounded)
            if marker.exists():
                break
            await asyncio.sleep(0.05)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        async with asyncio.timeout(20):
            assert isinstance(await pool.run(slow_pid, 0), int)
    finally:
        pool.close()


async def test_a_job_that_raises_gets_its_own_error_back_and_keeps_its_worker() -> None:
    pool = WorkerPool(ExtractSettings(workers=1))
    try:
        first = await pool.run(slow_pid, 0)
        with pytest.raises(ValueError, match="invalid literal"):
            await pool.run(int, "not a number")
        assert await pool.run(slow_pid, 0) == first
        assert pool.killed == 0
    finally:
        pool.close()


# What a worker must never load: the CLI and the parent's stack.
HEAVY = ("_pytest", "pydantic", "sqlalchemy", "telegram", "yaml", "httpx", "apscheduler")
HEAVY += ("bot.app", "bot.config", "bot.store", "bot.telegram", "multiprocessing")


def loaded(prefixes: tuple[str, ...]) -> str:
    """An expression for ``eval`` in a worker (a builtin: importing this test module
    there would load pytest): the modules held whose names start with ``prefixes``."""
    return f"sorted(m for m in __import__('sys').modules if m.startswith({prefixes!r}))"


RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>A</title><link>http://127.0.0.1/a</link></item></channel></rss>"
)


async def test_workers_start_lean_and_exit_when_idle() -> None:
    """The parent's __main__ (here pytest) is not re-imported; an idle worker leaves."""
    pool = WorkerPool(ExtractSettings(workers=1, idle_seconds=0.3))
    try:
        assert await pool.run(eval, loaded(HEAVY)) == [], "the worker imported only what jobs use"
        pid = await pool.run(worker_pid, 0)
        assert psutil.pid_exists(pid)
        await asyncio.to_thread(psutil.Process(pid).wait, 10)  # it exits by itself
        assert pool.idled == 1
        assert await pool.run(worker_pid, 0) != pid, "the next job starts a new worker"
    finally:
        pool.close()


async def test_a_worker_loads_only_what_its_jobs_use() -> None:
    """Parsing a feed loads no extractor; a page job loads trafilatura, and still no CLI."""
    from bot.analysis.feedjobs import FeedJob, parse_job
    from bot.analysis.page import read_source_job

    pool = WorkerPool(ExtractSettings(workers=1))
    try:
        feed = await pool.run(parse_job, FeedJob(RSS, "http://127.0.0.1/f.xml"))
        assert feed.title == "T"
        assert await pool.run(eval, loaded((*HEAVY, "trafilatura"))) == []
        html = "<html><body><article>" + "<p>Words of a story, told at length.</p>" * 40
        page = (html + "</article></body></html>").encode()
        article, _ = await pool.run(read_source_job, ("t", page, "http://127.0.0.1/a", "text/html"))
        assert "Words of a story" in article.body
        assert await pool.run(eval, loaded(HEAVY)) == []
        assert await pool.run(eval, loaded(("trafilatura",))) != []
    finally:
        pool.close()
