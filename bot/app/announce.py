"""The pipeline's observer in a running bot: a recorded alert wakes delivery at once.

Delivery sleeps while nothing is queued (bot/delivery/wakeup.py), so the moment
an article's alerts are committed it must hear of it, per article rather than
per poll, or a feed with many new items would hold its first alert until its
last item was done. Every hook still reaches the caller's observer (benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.message import Alert
from bot.core.models import Article, Entry
from bot.pipeline.observer import Observer


class Announcing(Observer):
    """``inner``'s hooks, plus ``queued()`` after each article recorded with alerts."""

    def __init__(self, inner: Observer | None, queued: Callable[[], None]) -> None:
        self.inner, self.queued = inner or Observer(), queued

    def on_recorded(self, entry: Entry, article: Article, alerts: Sequence[Alert]) -> None:
        self.inner.on_recorded(entry, article, alerts)
        if alerts:
            self.queued()


def _forward(name: str) -> Callable[..., None]:
    def hook(self: Announcing, *args: object) -> None:
        getattr(self.inner, name)(*args)

    hook.__name__ = name
    return hook


for _name in [n for n in vars(Observer) if n.startswith("on_") and n != "on_recorded"]:
    setattr(Announcing, _name, _forward(_name))
