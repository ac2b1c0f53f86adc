"""The worker processes that do the per-item CPU work: feed parsing, page extraction.

trafilatura (lxml underneath) can crash under threads (trafilatura issue 840),
and parsing and extraction are CPU-bound, so they run in worker processes: the
event loop stays responsive and every core is used. One hostile input must cost
only its own job, so the pool is supervised by hand rather than a
``concurrent.futures`` executor (which fails every job in flight when one worker
dies, cannot stop a job, and times jobs from submission, queue time included)::

    run(fn, job) ── wait for an idle worker (FIFO) ── send ── result
                                                       │
                        deadline passed / worker died ─┴─> that worker is killed and
                        replaced; only this job fails (JobTimedOut, WorkerCrashed)

- One job per worker at a time, over the worker's own socket (no lock shared
  between workers, so a worker killed mid-message cannot wedge the others).
- A job's deadline starts when a worker takes it: jobs waiting for a worker
  never time out because another job is slow.
- A worker is replaced after ``max_tasks_per_child`` jobs, to bound memory, and
  exits after ``idle_seconds`` with nothing to do, so a bot at rest holds none.
- Workers start lean and on demand: each is a fresh ``python -m
  bot.analysis.worker`` that imports a job's module only when such a job arrives
  (not the CLI, pydantic, SQLAlchemy, PTB or YAML). multiprocessing is not used:
  its forkserver (with trafilatura preloaded, ~40 MB) and resource tracker
  (~13 MB) would stay resident for the bot's whole life. A start costs ~0.2 s
  of CPU (trafilatura's import), once per ``max_tasks_per_child`` jobs.
- When the last worker has gone idle, the parent hands the burst's freed heap
  back to the system (``_give_back_memory``). Workers exit when their socket
  closes, so they never outlive a killed parent (unless stuck in a job).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.analysis.worker import HEADER, READY
from bot.core.errors import ExtractError

if TYPE_CHECKING:  # the parent's side only; settings are pydantic
    from bot.config.settings import ExtractSettings

log = logging.getLogger(__name__)
J = TypeVar("J")
R = TypeVar("R")
_READ = 1 << 20
_REAP_AFTER = 2.0  # seconds for retired workers to read EOF and exit


class JobTimedOut(ExtractError):
    """The job ran past its deadline; its worker was killed."""


class WorkerCrashed(ExtractError):
    """The worker died while running the job (a segfault, the OOM killer, a kill)."""


def _child_env() -> dict[str, str]:
    """The parent's environment, with its import path (job modules may live anywhere on it)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self) -> None:
        self.sock, self._child = socket.socketpair()
        self.proc: subprocess.Popen[bytes] | None = None
        self.jobs = 0
        self.idle_since = 0.0

    async def start(self) -> None:
        """Start ``bot.analysis.worker`` and wait until it says it is ready."""
        try:
            self.proc = self._launch()
        finally:
            self._child.close()  # the worker holds its own copy now
        self.sock.setblocking(False)
        loop = asyncio.get_running_loop()
        if await loop.sock_recv(self.sock, 1) != READY:
            raise WorkerCrashed(f"the extraction worker did not start ({self.death()})")

    def _launch(self) -> subprocess.Popen[bytes]:
        # vfork+exec, a millisecond: fine on the event loop, and no thread needed
        fd = self._child.fileno()
        return subprocess.Popen(
            [sys.executable, "-m", "bot.analysis.worker", str(fd)],
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            env=_child_env(),
        )

    async def call(self, fn: Callable[[J], R], job: J) -> tuple[bool, object]:
        """(True, result) or (False, the exception ``fn`` raised)."""
        loop = asyncio.get_running_loop()
        data = pickle.dumps((fn, job), protocol=pickle.HIGHEST_PROTOCOL)
        self.jobs += 1
        await loop.sock_sendall(self.sock, len(data).to_bytes(HEADER, "big") + data)
        head = await self._read(loop, HEADER)
        return pickle.loads(await self._read(loop, int.from_bytes(head, "big")))  # type: ignore[no-any-return]

    async def _read(self, loop: asyncio.AbstractEventLoop, size: int) -> bytes:
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            n = await loop.sock_recv_into(self.sock, view[got : got + _READ])
            if n == 0:
                raise EOFError
            got += n
        return bytes(buf)

    def death(self) -> str:
        """How the process ended, once it has (``killed by SIGKILL``, ``exit code 1``)."""
        if self.proc is None:
            return "never started"
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.returncode
        if code is None:
            return "still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def running(self) -> bool:
        """Still alive; collects the exit status (no zombie) once it has exited."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self, *, keep_socket: bool = False) -> None:
        """Stop the process at once; close the socket unless a call is still reading it."""
        if self.running():
            with contextlib.suppress(OSError):
                self.proc.kill()  # type: ignore[union-attr]
        if not keep_socket:
            self.sock.close()

    def join(self, timeout: float) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)

    def retire(self) -> None:
        """Close the socket: an idle worker reads EOF and exits by itself."""
        self.sock.close()


class WorkerPool:
    """Runs jobs in supervised worker processes: one deadline per job, one job per worker."""

    def __init__(self, settings: ExtractSettings) -> None:
        self.settings = settings
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._retired: list[_Worker] = []
        self._closed = False
        self.recycled = 0  # workers replaced after their quota of jobs
        self.killed = 0  # workers killed: past a deadline, cancelled, or crashed
        self.idled = 0  # workers that exited after idle_seconds with nothing to do
        self._idle_timer: asyncio.TimerHandle | None = None

    async def run(self, fn: Callable[[J], R], job: J, *, deadline: float | None = None) -> R:
        """``fn(job)`` in a worker within ``deadline`` seconds (default: the extraction timeout).

        Raises ``JobTimedOut`` or ``WorkerCrashed`` (both ``ExtractError``) when the
        worker is lost; an exception ``fn`` raised comes back as itself.
        """
        limit = self.settings.timeout_seconds if deadline is None else deadline
        worker = await self._acquire()
        try:
            async with asyncio.timeout(limit):  # from now on: the worker has the job
                ok, value = await worker.call(fn, job)
        except TimeoutError:
            self._release(worker, healthy=False)
            log.warning("worker_job_timed_out", extra={"worker_fn": fn.__name__, "seconds": limit})
            raise JobTimedOut(f"extraction took over {limit:g} s") from None
        except (EOFError, OSError, pickle.UnpicklingError):
            worker.kill()
            try:
                death = await asyncio.to_thread(worker.death)  # joins: off the loop
            finally:
                self._release(worker, healthy=False)
            log.error("worker_crashed", extra={"worker_fn": fn.__name__, "death": death})
            raise WorkerCrashed(f"the extraction worker crashed ({death})") from None
        except BaseException:  # cancelled mid-job: the worker's state is unknown
            self._release(worker, healthy=False)
            raise
        self._release(worker, healthy=True)
        if not ok:
            raise value  # type: ignore[misc]  # the job's own error
        return value  # type: ignore[no-any-return]

    async def _acquire(self) -> _Worker:
        if self._closed:
            raise ExtractError("the worker pool is closed")
        self._reap()
        if self._idle and not self._waiters:
            worker = self._idle.pop()
            self._busy.add(worker)
            return worker
        if len(self._idle) + len(self._busy) + self._starting < self.settings.workers:
            return await self._spawn()
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a worker just now
                self._release(waiter.result(), healthy=True)
            raise

    async def _spawn(self) -> _Worker:
        self._starting += 1
        worker = _Worker()
        try:
            await worker.start()
        except BaseException:
            worker.kill()
            raise
        finally:
            self._starting -= 1
        if self._closed:
            worker.kill()
            raise ExtractError("the worker pool is closed")
        self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        """Back to the pool, or (dead, stuck or spent) replaced by the next one asked for."""
        self._busy.discard(worker)
        if self._closed:
            worker.kill()
            return
        if not healthy:
            worker.kill()
            self.killed += 1
            self._retired.append(worker)
        elif worker.jobs >= self.settings.max_tasks_per_child:
            worker.retire()
            self.recycled += 1
            self._retired.append(worker)
        else:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    self._busy.add(worker)
                    waiter.set_result(worker)
                    return
            worker.idle_since = time.monotonic()
            self._idle.append(worker)
            self._arm_idle_timer()
            return
        self._wake_one()

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is None and self._idle:
            oldest = min(w.idle_since for w in self._idle)
            wait = max(0.0, oldest + self.settings.idle_seconds - time.monotonic())
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(wait, self._retire_idle)

    def _retire_idle(self) -> None:
        """Workers idle for ``idle_seconds`` exit (they read EOF); the next job starts one."""
        self._idle_timer = None
        if self._closed:
            return
        limit = time.monotonic() - self.settings.idle_seconds
        for worker in [w for w in self._idle if w.idle_since <= limit]:
            self._idle.remove(worker)
            worker.retire()
            self._retired.append(worker)
            self.idled += 1
        self._reap()
        self._arm_idle_timer()
        if not (self._idle or self._busy or self._starting):
            asyncio.get_running_loop().call_later(_REAP_AFTER, self._at_rest)

    def _at_rest(self) -> None:
        """No worker left: collect the exited ones, return the burst's memory."""
        self._reap()
        if not (self._closed or self._idle or self._busy or self._starting):
            _give_back_memory()

    def _wake_one(self) -> None:
        """A worker slot came free: start a worker for the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                task = asyncio.ensure_future(self._spawn_for(waiter))
                task.add_done_callback(_quiet)
                return

    async def _spawn_for(self, waiter: asyncio.Future[_Worker]) -> None:
        try:
            worker = await self._spawn()
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():  # its caller gave up meanwhile
            self._release(worker, healthy=True)
        else:
            waiter.set_result(worker)

    def _reap(self) -> None:
        """Collect workers that have exited (no zombies), without waiting for any."""
        self._retired = [w for w in self._retired if w.running()]

    def close(self) -> None:
        """Kill every worker; jobs still waiting fail with ``ExtractError``."""
        self._closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for worker in [*self._idle, *self._retired]:
            worker.kill()
        for worker in self._busy:  # their calls read EOF, fail, and close the socket
            worker.kill(keep_socket=True)
        for worker in [*self._idle, *self._retired]:
            worker.join(timeout=1)
        self._idle.clear()
        self._retired.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_exception(ExtractError("the worker pool is closed"))


def _give_back_memory() -> None:
    """Run the cycle collector, then ask glibc to return free heap pages to the system.

    After a burst the parent holds tens of MB of freed but still mapped arena
    memory (parsed feeds, HTTP buffers): CPython's allocator frees to malloc,
    and glibc keeps it. ``malloc_trim(0)`` releases it (measured in bench/RESULTS.md);
    it is a no-op elsewhere than glibc.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _quiet(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()
