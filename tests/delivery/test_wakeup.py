"""Delivery at rest: no outbox read every second; a queued alert starts a round at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.clock import utcnow
from bot.delivery.wakeup import DeliveryWake
from bot.store import Store
from tests.helpers.chat import enqueue


def open_store(tmp_path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.feeds.sync([("https://x.test/feed", "Feed", None, None)])
    return store


def test_an_empty_outbox_waits_the_idle_tick_and_a_retry_its_due_time(tmp_path) -> None:
    store = open_store(tmp_path)
    wake = DeliveryWake(store.outbox, busy_seconds=1.0, idle_seconds=30.0)
    assert wake.wait_seconds() == 30.0
    enqueue(store, [7], 1)
    assert wake.wait_seconds() == 1.0, "due now: the shortest wait"
    (alert,) = store.outbox.due()
    store.outbox.retry_at(alert.id, utcnow() + timedelta(seconds=12), "429")
    assert 10.0 < wake.wait_seconds() <= 12.0, "sleeps until the retry is due"


async def test_queued_alerts_start_a_round_without_waiting_for_the_tick(tmp_path) -> None:
    store = open_store(tmp_path)
    wake = DeliveryWake(store.outbox, busy_seconds=1.0, idle_seconds=600.0)
    rounds: asyncio.Queue[int] = asyncio.Queue()
    stop = asyncio.Event()

    async def deliver() -> None:
        rounds.put_nowait(wake.rounds)

    task = asyncio.create_task(wake.run(deliver, stop))
    try:
        async with asyncio.timeout(10):  # far below the 600 s tick
            assert await rounds.get() == 1, "a round at start"
            wake.queued()
            assert await rounds.get() == 2, "woken by the queued alert"
            stop.set()
            wake.queued()
            await task
    finally:
        task.cancel()
    assert wake.rounds == 2, "no round after stop"
