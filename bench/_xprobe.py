"""Runs inside the extraction worker processes: times each extraction, for the benchmark.

``benchlib.instrument`` points ``bot.extract.extract_text`` here, so the process
pool pickles this function instead. Each call runs the real ``extract_text`` and
then writes, to ``$NEWSBOT_BENCH_PROBE_DIR/<pid>``, the worker's call count, its
CPU inside trafilatura, and its whole process CPU so far (getrusage, which
starts at zero in a forked child). The bench reads the files once the workers
are idle, so worker CPU is counted even for workers already recycled.
"""

from __future__ import annotations

import os
import resource
import time

PROBE_ENV = "NEWSBOT_BENCH_PROBE_DIR"
_state = {"calls": 0, "ns": 0}
ORIGINAL = None  # set in the bot process before patching; workers import bot.extract fresh


def extract_text(html: bytes, url: str) -> str | None:
    """The real extraction, timed."""
    import bot.extract as bx

    real = bx.extract_text if bx.extract_text is not extract_text else ORIGINAL
    start = time.thread_time_ns()
    try:
        return real(html, url)
    finally:
        _state["calls"] += 1
        _state["ns"] += time.thread_time_ns() - start
        where = os.environ.get(PROBE_ENV)
        if where:
            r = resource.getrusage(resource.RUSAGE_SELF)
            line = f"{_state['calls']} {_state['ns']} {r.ru_utime + r.ru_stime}\n".encode()
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            fd = os.open(os.path.join(where, str(os.getpid())), flags)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def read_probes(where: str) -> dict[int, tuple[int, int, float]]:
    """pid -> (extractions, ns inside trafilatura, process CPU seconds), as last written."""
    out = {}
    for name in os.listdir(where):
        try:
            with open(os.path.join(where, name)) as f:
                calls, ns, cpu = f.read().split()
        except (OSError, ValueError):
            continue
        out[int(name)] = (int(calls), int(ns), float(cpu))
    return out
