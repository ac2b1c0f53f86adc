"""Fair shares across hosts: which due feeds get the free pollers.

Earliest due first, but no host gets more pollers than it may have requests in
flight (``per_host_concurrency``): a poller waiting on a host's politeness gate
would do nothing while feeds on other hosts fall late.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def host_of(url: str) -> str:
    """The host a URL's requests are spaced by (as ``bot.ingest.fetch.HostGate`` keys it)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def fair_pick(
    candidates: Sequence[T],
    n: int,
    url_of: Callable[[T], str],
    busy: Mapping[str, int],
    per_host: int,
) -> tuple[list[T], int]:
    """(up to ``n`` candidates in order, how many more could have been picked).

    ``busy``: polls in flight per host already. The second figure is the pool's
    shortfall: due feeds that only a larger pool would have started now.
    """
    taken: Counter[str] = Counter(busy)
    picked: list[T] = []
    spare = 0
    for candidate in candidates:
        host = host_of(url_of(candidate))
        if taken[host] >= per_host:
            continue
        taken[host] += 1
        if len(picked) >= n:
            spare += 1  # its host has room: only the pool's size keeps it waiting
        else:
            picked.append(candidate)
    return picked, spare
