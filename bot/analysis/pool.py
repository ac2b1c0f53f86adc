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
- Workers start lean: the parent's ``__main__`` (under the ``newsbot`` console
  script, the CLI with pydantic, SQLAlchemy and PTB) is not re-imported in each
  worker, as multiprocessing would by default (``_lean_preparation``); job
  functions therefore live in importable modules, never in ``__main__``.
- Workers are started off the event loop (the first start waits for the
  forkserver to import trafilatura) and exit when their socket closes, so they
  never outlive a killed parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.spawn as mp_spawn
import pickle
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, TypeVar

from bot.core.errors import ExtractError

if TYPE_CHECKING:  # workers import this module; they need no settings (pydantic)
    from bot.config.settings import ExtractSettings

log = logging.getLogger(__name__)
J = TypeVar("J")
R = TypeVar("R")
_HEADER = 8  # bytes of a message's length prefix
_READ = 1 << 20


class JobTimedOut(ExtractError):
    """The job ran past its deadline; its worker was killed."""


class WorkerCrashed(ExtractError):
    """The worker died while running the job (a segfault, the OOM killer, a kill)."""


def _lean_preparation(name: str) -> dict[str, object]:
    """multiprocessing's start-up data for a child, without the parent's main module.

    By default each forkserver child imports the parent's ``__main__`` again: the
    console script, and with it the CLI, pydantic, SQLAlchemy and PTB (44 MB and
    about 1 s of CPU per worker, measured in issue 18). Workers need none of it.
    """
    data = _PREPARATION(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


_PREPARATION = mp_spawn.get_preparation_data


def _context() -> multiprocessing.context.BaseContext:
    # forkserver: workers start from a clean, single-threaded server (no inherited
    # event loop or threads), and fork from it fast (trafilatura is preloaded).
    mp_spawn.get_preparation_data = _lean_preparation  # only this pool starts processes
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["trafilatura", "bot.analysis.page"])
    return ctx


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buf)


def _serve(sock: socket.socket) -> None:
    """A worker's life: run each job that arrives, answer, exit when the socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sock.setblocking(True)
    while True:
        head = _recv_exact(sock, _HEADER)
        data = _recv_exact(sock, int.from_bytes(head, "big")) if head else None
        if data is None:
            return
        fn, job = pickle.loads(data)  # our own parent's bytes
        try:
            answer: tuple[bool, object] = (True, fn(job))
        except Exception as exc:  # the job's own error goes back to the caller
            answer = (False, exc)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or error
            payload = pickle.dumps((False, RuntimeError(f"{fn.__name__}: {exc!r}")))
        sock.sendall(len(payload).to_bytes(_HEADER, "big") + payload)


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self.sock, child = socket.socketpair()
        self.proc: BaseProcess = ctx.Process(target=_serve, args=(child,), daemon=True)  # type: ignore[attr-defined]
        self._child = child
        self.jobs = 0
        self.idle_since = 0.0

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.proc.start)
        finally:
            self._child.close()  # the worker holds its own copy now
        self.sock.setblocking(False)

    async def call(self, fn: Callable[[J], R], job: J) -> tuple[bool, object]:
        """(True, result) or (False, the exception ``fn`` raised)."""
        loop = asyncio.get_running_loop()
        data = pickle.dumps((fn, job), protocol=pickle.HIGHEST_PROTOCOL)
        self.jobs += 1
        await loop.sock_sendall(self.sock, len(data).to_bytes(_HEADER, "big") + data)
        head = await self._read(loop, _HEADER)
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
        self.proc.join(timeout=2)
        code = self.proc.exitcode
        if code is None:
            return "still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self, *, keep_socket: bool = False) -> None:
        """Stop the process at once; close the socket unless a call is still reading it."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if self.proc.is_alive():
                self.proc.kill()
        if not keep_socket:
            self.sock.close()

    def retire(self) -> None:
        """Close the socket: an idle worker reads EOF and exits by itself."""
        self.sock.close()


class WorkerPool:
    """Runs jobs in supervised worker processes: one deadline per job, one job per worker."""

    def __init__(self, settings: ExtractSettings) -> None:
        self.settings = settings
        self._ctx = _context()
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
        worker = _Worker(self._ctx)
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
        self._retired = [w for w in self._retired if _running(w.proc)]

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
            with contextlib.suppress(AssertionError):
                worker.proc.join(timeout=1)
        self._idle.clear()
        self._retired.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_exception(ExtractError("the worker pool is closed"))


def _running(proc: BaseProcess) -> bool:
    try:
        return proc.is_alive()
    except (AssertionError, ValueError):
        return False


def _quiet(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()
