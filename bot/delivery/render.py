"""Alert formatting: Telegram HTML for one chat, every piece of outside text escaped and bounded.

An alert reads: the linked title; the outlet, the article's language and its time
in the chat's time zone; the topics this chat follows that matched, with the
terms that fired; the sentences around the strongest hits (``snippet``). Its fixed
words are in the chat's language. Feed and page text can contain anything (tags,
``&``, Markdown, a 10 kB title): each piece is cut at a word boundary to a fixed
budget before escaping, so an alert never exceeds ``MESSAGE_LIMIT`` and always parses.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.htmltext import cut_html, cut_text, visible_length
from bot.core.i18n import DEFAULT_LANGUAGE, Html, texts
from bot.core.localtime import zone
from bot.core.message import MESSAGE_LIMIT
from bot.core.models import Article, Hit, TopicMatch
from bot.delivery.snippet import snippet, snippet_line

TITLE_CHARS = 300
SOURCE_CHARS = 80
TERMS_PER_TOPIC = 5
TERM_CHARS = 60
TOPIC_CHARS = 60
TOPICS_SHOWN = 8
OUTLETS_SHOWN = 10
MIN_ALSO = 40  # visible characters worth an "also reported by" line


@dataclass(frozen=True, slots=True)
class View:
    """Whom an alert is for: the topics the chat follows (None: all), its language and zone."""

    topics: frozenset[str] | None = None
    lang: str = DEFAULT_LANGUAGE
    timezone: str | None = None


def clip(text: str, limit: int) -> str:
    """Whitespace collapsed, cut at a word boundary to ``limit`` characters with "…"."""
    return cut_text(" ".join(text.split()), limit)


def esc(text: str, limit: int) -> str:
    """``clip`` escaped for HTML (attributes too)."""
    return html.escape(clip(text, limit), quote=True)


def safe_url(url: str) -> str | None:
    """``url`` if it is a plain web link Telegram will accept, else None."""
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc and len(url) < 2000 else None


def link(url: str, label: str) -> str:
    """A link to ``url`` labelled with escaped ``label``, or just the label if the URL is bad."""
    target = safe_url(url)
    if target is None:
        return html.escape(label, quote=False)
    return f'<a href="{html.escape(target, quote=True)}">{html.escape(label, quote=False)}</a>'


def _terms(hits: Sequence[Hit]) -> str:
    seen: list[str] = []
    for h in hits:
        word = clip(h.text, TERM_CHARS)
        if word.casefold() not in (s.casefold() for s in seen):
            seen.append(word)
    shown = ", ".join(html.escape(w) for w in seen[:TERMS_PER_TOPIC])
    return shown + (", …" if len(seen) > TERMS_PER_TOPIC else "")


def _meta(article: Article, view: View, now: datetime | None) -> str:
    t = texts(view.lang)
    parts = [esc(article.source, SOURCE_CHARS)]
    if article.language:
        parts.append(html.escape(t.language_name(article.language)))
    if article.published:
        parts.append(html.escape(t.when(article.published, zone(view.timezone), now=now)))
    return " · ".join(parts)


def mine(found: Sequence[TopicMatch], view: View) -> list[TopicMatch]:
    """The matches of the topics this chat follows (all of them for an unknown view)."""
    own = [m for m in found if view.topics is None or m.topic_id in view.topics]
    return own or list(found)


def render_alert(
    article: Article, found: Sequence[TopicMatch], view: View, *, now: datetime | None = None
) -> str:
    """The alert message for one chat."""
    t = texts(view.lang)
    shown = mine(found, view)
    title = clip(article.title or article.url, TITLE_CHARS)
    lines = [f"<b>{link(article.url, title)}</b>", _meta(article, view, now), ""]
    lines += [
        f"• <b>{esc(m.topic_name, TOPIC_CHARS)}</b>: {_terms(m.hits)}" for m in shown[:TOPICS_SHOWN]
    ]
    quote = snippet(article, [m.hits for m in shown])
    if quote:
        lines += ["", quote]
    if article.text_source == "feed":
        if safe_url(article.url) is None:
            note = t._("Matched on the feed's own text: the item has no link.")
        else:
            note = t._("Matched on the feed's own text: the page could not be read.")
        lines += ["", f"<i>{note}</i>"]
    # The budgets above keep the visible text under ~2,600 characters, far below MESSAGE_LIMIT.
    return "\n".join(lines)


def digest_line(article: Article, found: Sequence[TopicMatch]) -> str:
    """The one plain line a digest shows for the article (stored with it)."""
    return snippet_line(article, [m.hits for m in found])


def with_outlets(text: str, also: Sequence[tuple[str, str]], lang: str | None) -> str:
    """An alert with its "also reported by" line: the other outlets, as links.

    Outlet names are anyone's to choose: the line is cut (never inside a tag or an
    entity) to the room the alert leaves in one message, and left out if there is none.
    """
    if not also:
        return text
    t = texts(lang)
    names = [link(url, clip(name, SOURCE_CHARS)) for name, url in also[:OUTLETS_SHOWN]]
    more = len(also) - OUTLETS_SHOWN
    if more > 0:
        names.append(t.n("{n} more", "{n} more", more))
    line = t._("Also reported by: {outlets}", outlets=Html(", ".join(names)))
    room = MESSAGE_LIMIT - visible_length(text) - 2  # after the blank line
    if room < MIN_ALSO:
        return text
    return f"{text}\n\n<i>{cut_html(line, room)}</i>"
