"""The console's read pages: archive, topics, subscribers (feeds: bot.web.feedspage).

Database reads run in a thread (``asyncio.to_thread``) so a slow search never
holds the bot's event loop.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.store.archive import COUNT_CAP, PAGE_SIZE, ArchiveQuery
from bot.store.console import days_back

NAV = [
    ("/archive", "Archive"),
    ("/feeds", "Feeds"),
    ("/topics", "Topics"),
    ("/rules", "Rules"),
    ("/subscribers", "Subscribers"),
]
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
        return escape(text[:width]) + Markup("…" if len(text) > width else "")
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
    before = Markup("…" if start else "")
    after = Markup("…" if start + width < len(text) else "")
    return before + Markup("").join(out) + after


def archive_query(request: Request) -> ArchiveQuery:
    """The archive page's filters from its query string, each bounded."""
    p = request.query_params
    feed, day, page = p.get("feed", ""), p.get("day", ""), p.get("page", "1")
    return ArchiveQuery(
        text=p.get("q", "")[:200],
        topic=p.get("topic", "")[:40],
        feed_id=int(feed) if feed.isdigit() and len(feed) < 10 else None,
        language=p.get("language", "")[:16],
        day=day if _is_day(day) else "",
        matched_only=p.get("all") != "1",
        page=int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1,
    )


def _is_day(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class Pages:
    """The read pages of one console."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.store = console.store

    def _topic_names(self) -> dict[str, str]:
        return {t.id: t.name for t in self.console.rules.matcher.rules.topics}

    async def archive(self, request: Request) -> Response:
        """Matched articles (or all), newest first, searched and filtered."""
        q = archive_query(request)
        archive = self.store.archive

        def read() -> tuple:
            names = {h.id: h.name for h in self.store.feeds.health()}
            return archive.find(q), archive.count(q), archive.languages(), names

        rows, total, languages, feed_names = await asyncio.to_thread(read)
        return self.console.render(
            request,
            "archive.html",
            q=q,
            rows=rows,
            total=total,
            pages=(min(total, COUNT_CAP) + PAGE_SIZE - 1) // PAGE_SIZE,
            cap=COUNT_CAP,
            languages=languages,
            feed_names=feed_names,
            topics=self._topic_names(),
            highlight=highlight,
            words=DELIVERY_WORDS,
            archive_days=self.console.settings.web.archive_days,
        )

    async def topics(self, request: Request) -> Response:
        """Alerts per topic per day (30 days, charted) and "not relevant" reports by term."""

        def read() -> tuple:
            return self.store.console.alerts_per_topic_day(30), self.store.feedback.by_term(50)

        per_day, reported = await asyncio.to_thread(read)
        days, names = days_back(30), self._topic_names()
        series = [
            {
                "id": tid,
                "name": names.get(tid, tid),
                "counts": [per_day.get(tid, {}).get(d, 0) for d in days],
            }
            for tid in dict.fromkeys([*names, *per_day])
        ]
        return self.console.render(
            request, "topics.html", days=days, series=series, reported=reported, names=names
        )

    async def subscribers(self, request: Request) -> Response:
        """Every chat: topics, mode, state, alerts by delivery state."""
        rows = await asyncio.to_thread(self.store.console.chats)
        return self.console.render(request, "subscribers.html", rows=rows, words=DELIVERY_WORDS)


def routes(console: Any) -> list[Route]:
    """The read pages, bound to ``console``."""
    from bot.web.feedspage import FeedsPage

    pages, feeds = Pages(console), FeedsPage(console)
    return [
        Route("/archive", pages.archive),
        Route("/topics", pages.topics),
        Route("/subscribers", pages.subscribers),
        Route("/feeds", feeds.show),
        Route("/feeds/add", feeds.add, methods=["POST"]),
        Route("/feeds/edit", feeds.edit, methods=["POST"]),
    ]
