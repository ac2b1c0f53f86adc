"""Runs inside the extraction worker processes: CPU per stage of ``bot.analysis.page``.

``benchlib.instrument`` points the pipeline at ``analyze`` here, so the process
pool pickles this function instead. On its first call in a worker it wraps the
stage functions ``bot.analysis.page`` calls with thread-CPU clocks; after each job it
writes, to ``$NEWSBOT_BENCH_PROBE_DIR/<pid>``, the worker's call counts and CPU
per stage and its whole process CPU so far (getrusage, which starts at zero in a
forked child). The bench reads the files once the workers are idle, so worker
CPU is counted even for workers already recycled.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import defaultdict
from typing import Any

PROBE_ENV = "NEWSBOT_BENCH_PROBE_DIR"
WORKER_STAGES = ("prefilter", "extract", "canonical", "match", "fingerprint")
_ns: dict[str, int] = defaultdict(int)
_calls: dict[str, int] = defaultdict(int)
_patched = False


def _timed(stage: str, fn: Any, count_result: bool = False) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time_ns()
        try:
            result = fn(*args, **kwargs)
        finally:
            _ns[stage] += time.thread_time_ns() - start
            _calls[stage] += 1
        if count_result:
            _calls[f"{stage}:{bool(result)}"] += 1
        return result

    return wrapper


def _patch() -> None:
    global _patched
    import bot.analysis.page as ba
    import bot.rules.matcher as bm

    ba.raw_text_variants = _timed("prefilter", ba.raw_text_variants)
    bm.Matcher.could_match = _timed("prefilter", bm.Matcher.could_match, count_result=True)
    ba.extract_text = _timed("extract", ba.extract_text)
    ba.canonical_from_html = _timed("canonical", ba.canonical_from_html)
    bm.Matcher.match = _timed("match", bm.Matcher.match)
    ba.fingerprint = _timed("fingerprint", ba.fingerprint)
    _patched = True


def analyze(job: Any) -> Any:
    """The real ``bot.analysis.page.analyze``, timed by stage."""
    import bot.analysis.page as ba

    if not _patched:
        _patch()
    start = time.thread_time_ns()
    try:
        return ba.analyze(job)
    finally:
        _ns["job"] += time.thread_time_ns() - start
        _calls["job"] += 1
        _write()


def _write() -> None:
    where = os.environ.get(PROBE_ENV)
    if not where:
        return
    r = resource.getrusage(resource.RUSAGE_SELF)
    data = json.dumps({"calls": _calls, "ns": _ns, "cpu": r.ru_utime + r.ru_stime}).encode()
    fd = os.open(os.path.join(where, str(os.getpid())), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_probes(where: str) -> dict[int, dict]:
    """pid -> {"calls": {stage: n}, "ns": {stage: ns}, "cpu": seconds}, as last written."""
    out = {}
    for name in os.listdir(where):
        try:
            with open(os.path.join(where, name)) as f:
                out[int(name)] = json.load(f)
        except (OSError, ValueError):
            continue
    return out
