"""A probe of the event loop's responsiveness: how late does it wake a 10 ms sleeper?

Every hostile-input test runs one while the bad input is processed: if anything
blocked the loop (a parse, a decompression, a big store write), the sleeper wakes
that much late, and ``worst`` says by how much.

The test process's heap holds every earlier test's objects, which a bot process
never has: a full collection of them (over 100 ms late in a whole-suite run) is
not the code under test blocking the loop. The probe freezes them first, as the
bot freezes its own start-up heap (``Service.open``), and unfreezes them after;
what the code under test allocates is collected as usual, and counted.
"""

from __future__ import annotations

import asyncio
import gc
import time
from types import TracebackType

TICK = 0.01  # seconds between wake-ups
LIMIT = 0.1  # what a test allows: the loop is never blocked for more than 100 ms


class LoopLag:
    """``async with LoopLag() as lag: ...``; then ``lag.worst`` is the largest delay seen."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.monotonic() - start - TICK)
            self.ticks += 1

    async def __aenter__(self) -> LoopLag:
        gc.collect()
        gc.freeze()
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)  # let it take its first measurement's start
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        gc.unfreeze()
