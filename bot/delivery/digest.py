"""Digest mode: a chat's alerts batched into one message per hour or day.

Held alerts are grouped by topic and split cleanly under Telegram's
``MESSAGE_LIMIT``. Building a digest queues its messages and retires the held alerts
in one transaction, so a crash either redoes the digest or leaves it queued.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from bot.core.clock import utcnow
from bot.store import Store
from bot.store.digests import DigestChat, HeldAlert

log = logging.getLogger(__name__)
PART_BUDGET = 3800  # visible characters of alert lines per part; headers fit in the rest
TITLE_CHARS = 200


def next_due(chat: DigestChat) -> datetime:
    """When this chat's next digest is due (UTC)."""
    last = chat.last_digest_at or utcnow()
    if chat.mode == "hourly":
        return last + timedelta(hours=1)
    hour, minute = (int(x) for x in (chat.digest_at or "08:00").split(":"))
    due = datetime.combine(last.date(), time(hour, minute), tzinfo=last.tzinfo)
    return due if due > last else due + timedelta(days=1)


def _line(item: HeldAlert) -> tuple[str, int]:
    title = " ".join(item.title.split())[:TITLE_CHARS] or item.url
    source = " ".join(item.source.split())[:60]
    text = (
        f'• <a href="{html.escape(item.url, quote=True)}">{html.escape(title)}</a> — '
        f"{html.escape(source)}"
    )
    return text, len(title) + len(source) + 5


def render_digest(items: list[HeldAlert], names: dict[str, str], wanted: set[str]) -> list[str]:
    """Digest messages: sections per topic, each alert once, every part under the limit."""
    order = list(names)
    sections: dict[str, list[tuple[str, int]]] = {}
    for item in items:
        mine = [t for t in item.topics if t in wanted] or list(item.topics)
        topic = min(mine, key=lambda t: order.index(t) if t in order else len(order))
        sections.setdefault(topic, []).append(_line(item))
    parts: list[list[str]] = [[]]
    size = 0
    for topic, lines in sections.items():
        header = f"\n<b>{html.escape(names.get(topic, topic))}</b>"
        for i, (line, length) in enumerate(lines):
            need = length + (len(names.get(topic, topic)) + 2 if i == 0 else 0)
            if size + need > PART_BUDGET and parts[-1]:
                parts.append([])
                size = 0
            if i == 0 or not parts[-1]:
                parts[-1].append(header + (" (cont.)" if i else ""))
                size += len(names.get(topic, topic)) + 10
            parts[-1].append(line)
            size += length + 1
    total = len(parts)
    return [
        f"<b>newsbot digest</b> · {len(items)} alerts"
        + (f" · part {n}/{total}" if total > 1 else "")
        + "\n"
        + "\n".join(lines)
        for n, lines in enumerate(parts, 1)
    ]


class Digester:
    """Builds the digests that are due."""

    def __init__(self, store: Store, topic_names: Callable[[], dict[str, str]]) -> None:
        self.store, self.topic_names = store, topic_names

    def run_due(self, now: datetime | None = None) -> int:
        """Build every due digest; returns how many chats got one."""
        now = now or utcnow()
        made = 0
        for chat in self.store.digests.chats():
            if now < next_due(chat):
                continue
            held = self.store.digests.held(chat.chat_id)
            wanted = set(self.store.subs.topics_of(chat.chat_id))
            parts = render_digest(held, self.topic_names(), wanted) if held else []
            key = now.strftime("%Y%m%dT%H%M")
            self.store.digests.commit(chat.chat_id, key, parts, [h.outbox_id for h in held])
            made += bool(parts)
            log.info(
                "digest_built",
                extra={"chat_id": chat.chat_id, "alerts": len(held), "messages": len(parts)},
            )
        return made
