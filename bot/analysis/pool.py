"""The worker processes that do the per-page CPU work (extraction with trafilatura).

trafilatura (lxml underneath) can crash under threads (trafilatura issue 840),
and extraction is CPU-bound, so it runs in a ``ProcessPoolExecutor``: it keeps
the event loop responsive and uses every core. A crashed worker breaks only the
pool, which is rebuilt; the article then falls back to the feed's own text.

Workers are recycled to bound memory, but not with the executor's own
``max_tasks_per_child``: on Python 3.11-3.13 a pool with a backlog stops
replacing workers that reach it and hangs (CPython gh-115634; the benchmark hit
it). Instead, after ``workers x max_tasks_per_child`` jobs the WorkerPool lets the
pool drain, retires it and starts a fresh one, so old and new never overlap.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

from bot.core.errors import ExtractError

if TYPE_CHECKING:  # workers import this module; they need no settings (pydantic)
    from bot.config.settings import ExtractSettings

log = logging.getLogger(__name__)
J = TypeVar("J")
R = TypeVar("R")


def _context() -> multiprocessing.context.BaseContext:
    # forkserver: workers start from a clean, single-threaded server (no inherited
    # event loop or threads), and fork from it fast (trafilatura is preloaded).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["trafilatura", "bot.analysis.page"])
    return ctx


class WorkerPool:
    """Runs per-page jobs off the event loop, in worker processes."""

    def __init__(self, settings: ExtractSettings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._jobs = 0  # submitted to the current pool
        self._in_flight = 0
        self._idle = asyncio.Event()
        self.recycled = 0  # pools retired after their quota of jobs

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.settings.workers, mp_context=_context()
            )
        return self._pool

    async def _admit(self) -> None:
        """Wait while a pool that has done its quota drains, then replace it."""
        quota = self.settings.workers * self.settings.max_tasks_per_child
        while self._jobs >= quota:
            if self._in_flight == 0:
                self._retire()
                return
            self._idle.clear()
            await self._idle.wait()

    def _retire(self) -> None:
        pool, self._pool, self._jobs = self._pool, None, 0
        if pool is not None:
            pool.shutdown(wait=False)  # idle: its workers exit at once
            self.recycled += 1

    async def run(self, fn: Callable[[J], R], job: J) -> R:
        """``fn(job)`` in a worker, within the extraction timeout; ExtractError if it fails."""
        await self._admit()
        loop = asyncio.get_running_loop()
        self._jobs += 1
        self._in_flight += 1
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):  # unlike wait_for: no task
                return await loop.run_in_executor(self._executor(), fn, job)
        except BrokenProcessPool:
            log.error("extract_pool_broken", extra={"worker_fn": fn.__name__})
            self.close()
            raise ExtractError("the extraction worker crashed") from None
        except TimeoutError:
            raise ExtractError(
                f"extraction took over {self.settings.timeout_seconds:g} s"
            ) from None
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            # A worker stuck on a pathological page would otherwise hold up exit
            # (Python joins pool workers at shutdown); Python < 3.14 has no public
            # terminate, so reach for the processes the pool keeps.
            workers = list(getattr(self._pool, "_processes", {}).values())
            # A job half-written to a dead worker's pipe must not block exit either
            # (the pool joins its queue's feeder thread).
            call_queue = getattr(self._pool, "_call_queue", None)
            if call_queue is not None:
                call_queue.cancel_join_thread()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            self._pool, self._jobs = None, 0
