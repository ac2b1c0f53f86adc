"""SIGKILL at random moments under load: no alert lost, duplicates within the bound.

A smaller version of ``bench/chaos.py`` (which prints its figures for 20 kills):
five kills, three growing feeds, three chats. Every item reaches every chat, and
no chat sees more duplicates than there were kills (one send in flight per chat:
bot/delivery/drain.py), nor the run more than kills × SEND_LANES.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.delivery.drain import SEND_LANES
from tests.helpers.chaos import run_chaos

pytestmark = pytest.mark.process
CHATS = (101, 102, 103)


@pytest.mark.timeout(400)
def test_random_sigkills_lose_nothing_and_repeat_within_the_bound(tmp_path: Path) -> None:
    report, expected = run_chaos(tmp_path, kills=5, feeds=3, per_feed=10, chats=CHATS, seed=5)
    assert sum(report.points.values()) == 5
    for chat in CHATS:
        assert report.lost(chat, expected) == 0, (chat, report.delivered[chat])
        assert report.duplicates(chat) <= report.kills, (chat, report.delivered[chat])
    assert sum(report.duplicates(c) for c in CHATS) <= report.kills * SEND_LANES
