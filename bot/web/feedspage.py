"""The feeds page: health per feed, and adding, disabling, enabling, removing feeds.

Edits go through ``bot.config.edit.edit_feeds`` exactly as ``/addfeed`` and
``/rmfeed`` do: the same validation, the same feeds.yaml (comments kept), and the
store synced after; a new feed is read once first (the service's probe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.core.clock import utcnow
from bot.core.errors import ConfigError, FeedError
from bot.core.feedwords import ago, failure_words
from bot.core.i18n import Texts, texts
from bot.store.console import days_back

log = logging.getLogger(__name__)
BARS = "▁▂▃▄▅▆▇█"
ACTIONS = ("disable", "enable", "remove")


def sparkline(counts: list[int]) -> str:
    """Counts as a line of block characters (text: no drawing code)."""
    top = max(counts) or 1
    return "".join(BARS[min(len(BARS) - 1, round(n / top * (len(BARS) - 1)))] for n in counts)


def _wait(next_poll: datetime | None) -> str:
    if next_poll is None:
        return ""
    seconds = int((next_poll - utcnow()).total_seconds())
    if seconds <= 0:
        return "due now"
    return f"in {seconds // 60} min" if seconds >= 60 else f"in {seconds} s"


def feed_row(f: Any, h: Any, next_poll: datetime | None, counts: list[int], t: Texts) -> dict:
    """One feed on the feeds page, its health in words (as /feeds words it)."""
    if not f.enabled:
        state, error = "disabled", ""
    elif h is None:
        state, error = "not polled yet", ""
    elif h.consecutive_failures:
        state, error = "failing", failure_words(h.error_kind, t)
    else:
        state, error = "ok", ""
    return {
        "url": f.url,
        "name": f.name,
        "enabled": f.enabled,
        "state": state,
        "error": error,
        "last_error": (h.last_error or "")[:300] if h and h.consecutive_failures else "",
        "last_success": ago(h.last_success_at, t) if h else "never",
        "next_poll": _wait(next_poll) if f.enabled else "",
        "spark": sparkline(counts),
        "per_day": counts,
        "total": sum(counts),
    }


class FeedsPage:
    """The feeds page of one console."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.store = console.store
        self.path = console.settings.feeds_path
        self.t = texts("en")

    def _listed(self) -> set[str]:
        return {f.url for f in load_feeds(self.path).feeds}

    async def show(self, request: Request, message: str = "", error: str = "") -> Response:
        """Every configured feed with its health, sparkline and next poll."""

        def read() -> tuple:
            console = self.store.console
            return (
                self.store.feeds.health(),
                console.schedule(),
                console.items_per_day(7),
                console.feed_ids(),
            )

        health, schedule, per_day, ids = await asyncio.to_thread(read)
        by_url, days = {h.config_url: h for h in health}, days_back(7)
        rows = []
        for f in load_feeds(self.path).feeds:
            counts = [per_day.get(ids.get(f.url, -1), {}).get(d, 0) for d in days]
            next_poll = (schedule.get(f.url) or (None, None))[1]
            rows.append(feed_row(f, by_url.get(f.url), next_poll, counts, self.t))
        context = {"rows": rows, "message": message, "error": error, "days": days}
        return self.console.render(request, "feeds.html", status=422 if error else 200, **context)

    async def _change(self, request: Request, change: Callable, done: str) -> Response:
        try:
            listed = edit_feeds(self.path, change)
        except ConfigError as exc:
            log.warning("feeds_edit_refused", extra={"error": str(exc)})
            return await self.show(request, error=f"Refused, nothing was changed: {exc}")
        self.store.feeds.sync(listed.enabled())
        return await self.show(request, message=done)

    async def add(self, request: Request) -> Response:
        """Add a feed after reading it once (a web page's advertised feed is found too)."""
        form = await request.form()
        url = str(form.get("url", "")).strip()[:2048]
        name = str(form.get("name", "")).strip()[:200]
        if not url.startswith(("http://", "https://")):
            return await self.show(request, error="A feed's address starts with http(s)://.")
        if self.console.probe is None:
            return await self.show(request, error="Feeds cannot be read from here.")
        try:
            found, title, _via_page = await self.console.probe(url)
        except FeedError as exc:
            log.info("feed_refused", extra={"feed_url": url, "error": str(exc)})
            return await self.show(request, error=f"Refused: {failure_words(exc.kind, self.t)}.")
        if found in self._listed():
            return await self.show(request, error="That feed is already in the list.")
        entry = {"url": found, "name": (name or title or found)[:200]}

        def append(doc: dict) -> None:
            doc.setdefault("feeds", []).append(entry)

        return await self._change(request, append, f"Added {entry['name']}.")

    async def edit(self, request: Request) -> Response:
        """Disable, enable or remove a listed feed (its history is kept)."""
        form = await request.form()
        url, action = str(form.get("url", "")), str(form.get("action", ""))
        if action not in ACTIONS:
            return await self.show(request, error="Unknown action.")
        if url not in self._listed():
            return await self.show(request, error="There is no such feed in the list.")

        def change(doc: dict) -> None:
            entries = doc["feeds"]
            if action == "remove":
                doc["feeds"] = type(entries)([f for f in entries if f.get("url") != url])
                return
            for f in entries:
                if f.get("url") == url and action == "enable":
                    f.pop("enabled", None)
                elif f.get("url") == url:
                    f["enabled"] = False

        return await self._change(request, change, f"Feed {action}d: {url}")
