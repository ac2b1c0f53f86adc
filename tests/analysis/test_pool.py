"""The extraction pool recycles its workers without ever stranding a job.

Python 3.11-3.13's own ``max_tasks_per_child`` stops replacing workers once a
backlog is queued (CPython gh-115634) and the queued jobs hang; the WorkerPool
retires whole pools instead. Closing it with jobs still queued must not hang exit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings
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
    assert extractor.recycled >= 5, "pools were retired after 2 x 3 jobs each"
    per_process = {pid: pids.count(pid) for pid in set(pids)}
    assert max(per_process.values()) <= 6, per_process
    assert len(per_process) >= 40 // 6, "fresh workers took over"


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
