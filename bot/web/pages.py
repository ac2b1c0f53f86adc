"""The console's read pages and feed edits: archive, feeds, topics, subscribers.

Database reads run in a thread (``asyncio.to_thread``) so a slow search never
holds the bot's event loop; feed edits go through ``bot.config.edit`` exactly as
``/addfeed`` and ``/rmfeed`` do (same validation, same feeds.yaml).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.core.clock import utcnow
from bot.core.errors import ConfigError, FeedError
from bot.core.feedwords import ago, failure_words
from bot.core.i18n import Texts, texts
from bot.store.archive import PAGE_SIZE, ArchivedArticle, ArchiveQuery
from bot.store.console import days_back

log = logging.getLogger(__name__)
NAV = [
    ("/archive", "Archive"),
    ("/feeds", "Feeds"),
    ("/topics", "Topics"),
    ("/rules", "Rules"),
    ("/subscribers", "Subscribers"),
]
BARS = "▁▂▃▄▅▆▇█"
DELIVERY_WORDS = {
    "pending": "queued",
    "sent": "sent",
    "held": "held",
    "digested": "digested",
    "failed": "failed",
    "dropped": "dropped (chat gone)",
}


def highlight(text: str, terms: tuple[str, ...], width: int = 320) -> Markup:
    """A piece of ``text`` around its first matched term, every term marked (escaped)."""
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text[:width])
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - width // 3) if first else 0
    piece = text[start : start + width]
    out, at = [], 0
    for m in pattern.finditer(piece):
        out.append(escape(piece[at : m.start()]))
        out.append(Markup("<mark>") + escape(m.group()) + Markup("</mark>"))
        at = m.end()
    out.append(escape(piece[at:]))
    return (
        Markup("…" if start else "")
        + Markup("").join(out)
        + Markup("…" if start + width < len(text) else "")
    )


def sparkline(counts: list[int]) -> str:
    """Counts as a line of block characters (text, so no drawing code)."""
    top = max(counts) or 1
    return "".join(BARS[min(len(BARS) - 1, round(n / top * (len(BARS) - 1)))] for n in counts)


def _query(request: Request) -> ArchiveQuery:
    p = request.query_params
    feed = p.get("feed", "")
    day = p.get("day", "")
    page = p.get("page", "1")
    return ArchiveQuery(
        text=p.get("q", "")[:200],
        topic=p.get("topic", "")[:40],
        feed_id=int(feed) if feed.isdigit() else None,
        language=p.get("language", "")[:16],
        day=day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else "",
        matched_only=p.get("all") != "1",
        page=int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1,
    )


def routes(console: Any) -> list[Route]:
    """The pages, bound to ``console``."""
    store, settings = console.store, console.settings
    t: Texts = texts("en")

    async def archive(request: Request) -> Response:
        q = _query(request)

        def read() -> tuple[list[ArchivedArticle], int, list[str], dict[int, str]]:
            names = {h.id: h.name for h in store.feeds.health()}
            return store.archive.find(q), store.archive.count(q), store.archive.languages(), names

        rows, total, languages, feed_names = await asyncio.to_thread(read)
        topics = {tp.id: tp.name for tp in console.rules.matcher.rules.topics}
        return console.render(
            request,
            "archive.html",
            q=q,
            rows=rows,
            total=total,
            pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
            languages=languages,
            feed_names=feed_names,
            topics=topics,
            highlight=highlight,
            words=DELIVERY_WORDS,
            archive_days=settings.web.archive_days,
        )

    async def feeds_page(request: Request, message: str = "", error: str = "") -> Response:
        def read() -> tuple:
            return (
                store.feeds.health(),
                store.console.schedule(),
                store.console.items_per_day(7),
                store.console.feed_ids(),
            )

        health, schedule, per_day, ids = await asyncio.to_thread(read)
        by_url = {h.config_url: h for h in health}
        days = days_back(7)
        rows = []
        for f in load_feeds(settings.feeds_path).feeds:
            h = by_url.get(f.url)
            counts = [per_day.get(ids.get(f.url, -1), {}).get(d, 0) for d in days]
            rows.append(_feed_row(f, h, schedule.get(f.url), counts, t))
        return console.render(
            request, "feeds.html", rows=rows, message=message, error=error, days=days
        )

    async def change_feeds(request: Request, change: Callable, done: str) -> Response:
        try:
            listed = edit_feeds(settings.feeds_path, change)
        except ConfigError as exc:
            log.warning("feeds_edit_refused", extra={"error": str(exc)})
            return await feeds_page(request, error=f"Refused, nothing was changed: {exc}")
        store.feeds.sync(listed.enabled())
        return await feeds_page(request, message=done)

    async def add_feed(request: Request) -> Response:
        form = await request.form()
        url = str(form.get("url", "")).strip()
        name = str(form.get("name", "")).strip()[:200]
        if not url.startswith(("http://", "https://")):
            return await feeds_page(
                request, error="A feed's address starts with http:// or https://."
            )
        if console.probe is None:
            return await feeds_page(request, error="Feeds cannot be read from here.")
        try:
            found, title, _via_page = await console.probe(url)
        except FeedError as exc:
            return await feeds_page(request, error=f"Refused: {failure_words(exc.kind, t)}.")
        if found in {f.url for f in load_feeds(settings.feeds_path).feeds}:
            return await feeds_page(request, error="That feed is already in the list.")
        entry = {"url": found, "name": name or title or found}
        return await change_feeds(
            request,
            lambda doc: doc.setdefault("feeds", []).append(entry),
            f"Added {entry['name']}.",
        )

    async def edit_feed(request: Request) -> Response:
        form = await request.form()
        url, action = str(form.get("url", "")), str(form.get("action", ""))
        if url not in {f.url for f in load_feeds(settings.feeds_path).feeds}:
            return await feeds_page(request, error="There is no such feed in the list.")

        def change(doc: dict) -> None:
            entries = doc["feeds"]
            if action == "remove":
                doc["feeds"] = type(entries)([f for f in entries if f.get("url") != url])
                return
            for f in entries:
                if f.get("url") == url:
                    if action == "enable":
                        f.pop("enabled", None)
                    else:
                        f["enabled"] = False

        if action not in ("remove", "enable", "disable"):
            return await feeds_page(request, error="Unknown action.")
        return await change_feeds(request, change, f"Feed {action}d: {url}")

    async def topics_page(request: Request) -> Response:
        def read() -> tuple:
            return store.console.alerts_per_topic_day(30), store.feedback.by_term(50)

        per_day, reported = await asyncio.to_thread(read)
        days = days_back(30)
        names = {tp.id: tp.name for tp in console.rules.matcher.rules.topics}
        series = [
            {
                "id": tid,
                "name": names.get(tid, tid),
                "counts": [per_day.get(tid, {}).get(d, 0) for d in days],
            }
            for tid in dict.fromkeys([*names, *per_day])
        ]
        return console.render(
            request, "topics.html", days=days, series=series, reported=reported, names=names
        )

    async def subscribers(request: Request) -> Response:
        rows = await asyncio.to_thread(store.console.chats)
        return console.render(request, "subscribers.html", rows=rows, words=DELIVERY_WORDS)

    async def feeds_get(request: Request) -> Response:
        return await feeds_page(request)

    return [
        Route("/archive", archive),
        Route("/feeds", feeds_get),
        Route("/feeds/add", add_feed, methods=["POST"]),
        Route("/feeds/edit", edit_feed, methods=["POST"]),
        Route("/topics", topics_page),
        Route("/subscribers", subscribers),
        Route("/feeds/", lambda r: RedirectResponse("/feeds", status_code=303)),
    ]


def _feed_row(f: Any, h: Any, sched: tuple | None, counts: list[int], t: Texts) -> dict:
    """One feed on the feeds page: its health in words."""
    next_poll: datetime | None = sched[1] if sched else None
    if not f.enabled:
        state, error = "disabled", ""
    elif h is None:
        state, error = "not polled yet", ""
    elif h.consecutive_failures:
        state, error = "failing", failure_words(h.error_kind, t)
    else:
        state, error = "ok", ""
    wait = ""
    if next_poll and f.enabled:
        seconds = int((next_poll - utcnow()).total_seconds())
        wait = (
            "due now"
            if seconds <= 0
            else f"in {seconds // 60} min"
            if seconds >= 60
            else f"in {seconds} s"
        )
    return {
        "url": f.url,
        "name": f.name,
        "enabled": f.enabled,
        "state": state,
        "error": error,
        "last_error": (h.last_error or "")[:300] if h and h.consecutive_failures else "",
        "last_success": ago(h.last_success_at, t) if h else "never",
        "next_poll": wait,
        "spark": sparkline(counts),
        "per_day": counts,
        "total": sum(counts),
    }
