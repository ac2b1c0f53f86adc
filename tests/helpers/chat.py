"""Talking to the bot through the fake Bot API, and queueing alerts as the pipeline would."""

from __future__ import annotations

import html
import re

from bot.core.models import Article, Entry, TopicMatch
from bot.store import Store
from tests.helpers.harness import Harness


async def say(h: Harness, chat: int, text: str, **kwargs: object) -> dict:
    """Send ``text`` from ``chat`` and return the bot's answer to it."""
    before = len([m for m in h.telegram.sent if m["chat_id"] == chat])
    h.telegram.push_message(chat, text, **kwargs)
    await h.wait_sent(lambda a: len([m for m in a.sent if m["chat_id"] == chat]) > before)
    return [m for m in h.telegram.sent if m["chat_id"] == chat][-1]


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
            1, entry, article, [TopicMatch("kazakhstan", "K", ())], [(chat, text) for chat in chats]
        )
        texts.append(text)
    return texts


def visible(message: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message))
