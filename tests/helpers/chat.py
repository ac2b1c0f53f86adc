"""Talking to the bot through the fake Bot API, and queueing alerts as the pipeline would."""

from __future__ import annotations

import html
import re
from typing import Any

from bot.core.i18n import pick
from bot.core.message import Alert
from bot.core.models import Article, Entry, TopicMatch
from bot.delivery.render import View, digest_line, render_alert
from bot.store import Store
from tests.helpers.harness import Harness


async def say(h: Harness, chat: int, text: str, **kwargs: Any) -> dict:
    """Send ``text`` from ``chat`` and return the bot's (last) answer to it."""
    before = len([m for m in h.telegram.sent if m["chat_id"] == chat])
    h.telegram.push_message(chat, text, **kwargs)
    await h.wait_sent(lambda a: len([m for m in a.sent if m["chat_id"] == chat]) > before)
    return [m for m in h.telegram.sent if m["chat_id"] == chat][-1]


async def press(
    h: Harness, chat: int, data: str, message_id: int, *, edits: int = 0, **kwargs: Any
) -> dict:
    """Press a button with ``data`` on message ``message_id``; return the bot's answer to it
    (after waiting for ``edits`` more edits of messages, when the press redraws one)."""
    answers, edited = len(h.telegram.callback_answers), len(h.telegram.edits)
    h.telegram.push_callback(chat, data, message_id=message_id, **kwargs)
    await h.wait_sent(
        lambda a: len(a.callback_answers) > answers and len(a.edits) >= edited + edits
    )
    return h.telegram.callback_answers[answers]


def keyboard(message: dict) -> list[list[dict]]:
    """The inline keyboard of a sent (or edited) message, row by row."""
    return (message.get("reply_markup") or {}).get("inline_keyboard", [])


def buttons(message: dict) -> dict[str, str]:
    """Label -> callback data (or URL) of every button on a message."""
    return {
        b["text"]: b.get("callback_data") or b.get("url") for row in keyboard(message) for b in row
    }


_counter = iter(range(1, 10**6))


def enqueue(store: Store, chats: list[int], count: int) -> list[str]:
    """Queue ``count`` alerts for each chat, as the pipeline would; return their texts."""
    texts = []
    for _ in range(count):
        n = next(_counter)
        entry = Entry(f"guid-{n}", f"https://x.test/{n}", f"Story {n}", "", None)
        article = Article(entry.link, entry.title, "", "", "Feed", None)
        text = f'<b><a href="{entry.link}">Story {n}</a></b>'
        store.items.record_article(
            1,
            entry,
            article,
            [TopicMatch("kazakhstan", "K", ())],
            [Alert(chat, text, topics=("kazakhstan",)) for chat in chats],
        )
        texts.append(text)
    return texts


def record(
    store: Store, article: Article, found: list[TopicMatch], story: int | None = None
) -> bool:
    """Record a matched article with an alert for each chat following a topic, rendered for
    that chat exactly as the pipeline renders it (its topics, language, time zone)."""
    alerts = []
    for chat in store.subs.recipients(m.topic_id for m in found):
        view = View(chat.topics, pick(chat.language), chat.timezone)
        topics = tuple(m.topic_id for m in found if m.topic_id in chat.topics)
        alerts.append(Alert(chat.chat_id, render_alert(article, found, view), view.lang, topics))
    n = next(_counter)
    entry = Entry(f"rec-{n}", article.url, article.title, article.summary, article.published)
    line = digest_line(article, found)
    return store.items.record_article(1, entry, article, found, alerts, story, line)


def visible(message: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message))
