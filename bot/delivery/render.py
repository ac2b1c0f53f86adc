"""Alert formatting: Telegram HTML, every piece of outside text escaped and bounded.

Feed and page text can contain anything (tags, ``&``, Markdown, a 10 kB title).
Each piece is cut to a fixed budget *before* escaping, so the message can never
exceed Telegram's ``MESSAGE_LIMIT`` and never fails to parse.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.models import Article, Hit, TopicMatch

TITLE_CHARS = 300
SOURCE_CHARS = 80
SNIPPET_RADIUS = 160
TERMS_PER_TOPIC = 5
TERM_CHARS = 30
TOPICS_SHOWN = 8


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str, limit: int) -> str:
    return html.escape(_cut(text, limit), quote=True)


def _safe_url(url: str) -> str | None:
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc and len(url) < 2000 else None


def _terms(hits: Sequence[Hit]) -> str:
    seen: list[str] = []
    for h in hits:
        word = _cut(h.text, TERM_CHARS)
        if word.casefold() not in (s.casefold() for s in seen):
            seen.append(word)
    shown = ", ".join(html.escape(w) for w in seen[:TERMS_PER_TOPIC])
    return shown + (", …" if len(seen) > TERMS_PER_TOPIC else "")


def snippet(article: Article, hit: Hit) -> str:
    """Escaped text around ``hit`` with the matched words in bold."""
    text = {"title": article.title, "summary": article.summary, "body": article.body}[hit.field]
    start = max(0, hit.start - SNIPPET_RADIUS)
    end = min(len(text), hit.end + SNIPPET_RADIUS)
    before = ("…" if start else "") + " ".join(text[start : hit.start].split())
    after = " ".join(text[hit.end : end].split()) + ("…" if end < len(text) else "")
    word = _cut(text[hit.start : hit.end], TERM_CHARS)
    return f"{html.escape(before)} <b>{html.escape(word)}</b> {html.escape(after)}".strip()


def _when(published: datetime | None) -> str:
    return published.strftime("%Y-%m-%d %H:%M UTC") if published else "time unknown"


def render_alert(article: Article, found: Sequence[TopicMatch], wanted: set[str]) -> str:
    """The alert message for one chat: title, source and time, topics and terms, snippet.

    ``wanted`` are the topics the chat subscribed to; they are listed first.
    """
    title = _esc(article.title or article.url, TITLE_CHARS)
    url = _safe_url(article.url)
    head = (
        f'<b><a href="{html.escape(url, quote=True)}">{title}</a></b>' if url else f"<b>{title}</b>"
    )
    meta = f"{_esc(article.source, SOURCE_CHARS)} · {_when(article.published)}"
    ordered = sorted(found, key=lambda m: m.topic_id not in wanted)
    topics = [
        f"• <b>{_esc(m.topic_name, 60)}</b>: {_terms(m.hits)}" for m in ordered[:TOPICS_SHOWN]
    ]
    lines = [head, meta, "", *topics]
    first = _first_hit(article, ordered)
    if first is not None:
        lines += ["", snippet(article, first)]
    if article.text_source == "feed":
        why = "the item has no link" if url is None else "the article page could not be read"
        lines += ["", f"<i>Matched on the feed's own text: {why}.</i>"]
    # The budgets above keep the visible text under ~2,800 characters, far below MESSAGE_LIMIT.
    return "\n".join(lines)


def _first_hit(article: Article, found: Sequence[TopicMatch]) -> Hit | None:
    hits = [h for m in found for h in m.hits if h.field in ("body", "summary")]
    hits = hits or [h for m in found for h in m.hits]
    return min(hits, key=lambda h: (h.field != "body", h.start)) if hits else None
