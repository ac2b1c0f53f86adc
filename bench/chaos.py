"""Chaos run: ``newsbot run`` SIGKILLed 20 times at random moments under load.

Prints, per chat, the alerts delivered, lost and duplicated, next to the bound
the README states (at most one duplicate per chat per kill, and at most
SEND_LANES per kill in all). A benchmark: it prints what it measured, it asserts
nothing (tests/app/test_chaos.py runs a smaller version that does).

    .venv/bin/python bench/chaos.py [--kills 20] [--feeds 4] [--items 25] [--chats 4] [--seed 17]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.delivery.drain import SEND_LANES  # noqa: E402
from tests.helpers.chaos import SEND_LATENCY, run_chaos  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--feeds", type=int, default=4)
    p.add_argument("--items", type=int, default=25, help="items per feed")
    p.add_argument("--chats", type=int, default=4)
    p.add_argument("--seed", type=int, default=17)
    args = p.parse_args()
    chats = tuple(range(101, 101 + args.chats))
    with tempfile.TemporaryDirectory(prefix="newsbot-chaos-") as tmp:
        report, expected = run_chaos(
            Path(tmp),
            kills=args.kills,
            feeds=args.feeds,
            per_feed=args.items,
            chats=chats,
            seed=args.seed,
        )
    print(
        f"chaos run: {report.kills} SIGKILLs ({dict(report.points)}), {report.items} items "
        f"x {len(chats)} chats, sends answered {SEND_LATENCY * 1000:.0f} ms late, "
        f"{report.seconds:.0f} s in all (seed {args.seed})"
    )
    print(f"{'chat':>6} {'delivered':>10} {'lost':>5} {'duplicates':>11} {'bound':>6}")
    for chat in chats:
        got = len(set(report.delivered[chat]) & expected)
        print(
            f"{chat:>6} {got:>10} {report.lost(chat, expected):>5} "
            f"{report.duplicates(chat):>11} {report.kills:>6}"
        )
    lost = sum(report.lost(c, expected) for c in chats)
    dups = sum(report.duplicates(c) for c in chats)
    print(f"{'total':>6} {'':>10} {lost:>5} {dups:>11} {report.kills * SEND_LANES:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
