"""Digests: a chat's held alerts as one message (or a few), per hour, per day, or after quiet hours.

A digest opens with its time window and count; its items are grouped under the
chat's own topics, each item once, under its strongest topic, with its time in
the chat's zone, the line around its hits and its outlets as links. Parts are
split between items, under ``MESSAGE_LIMIT``, each saying which part it is and
which topic it continues. Building a digest queues its messages and retires the
held alerts in one transaction, so a crash either redoes the digest or leaves it queued.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo

from bot.core.clock import utcnow
from bot.core.htmltext import visible_length
from bot.core.i18n import Texts, pick, texts
from bot.core.localtime import in_window, next_at, zone
from bot.core.message import MESSAGE_LIMIT
from bot.delivery.render import View, clip, esc, link
from bot.store import Store
from bot.store.digests import DigestChat, HeldAlert

log = logging.getLogger(__name__)
PART_BUDGET = MESSAGE_LIMIT - 300  # room for the part's header and a topic's "(continued)"
TITLE_CHARS = 200
LINE_CHARS = 160
OUTLETS_SHOWN = 3
DIGEST, QUIET = "digest", "quiet"


def next_due(chat: DigestChat) -> datetime:
    """When this chat's next digest is due (UTC); daily ones at the chat's local time."""
    last = chat.last_digest_at or utcnow()
    if chat.mode == "hourly":
        return last + timedelta(hours=1)
    return next_at(last, zone(chat.timezone), chat.digest_at or "08:00")


def _when(moment: datetime, where: tzinfo, day: datetime) -> str:
    local = moment.astimezone(where)
    return (
        f"{local:%H:%M}" if local.date() == day.astimezone(where).date() else f"{local:%d.%m %H:%M}"
    )


def _item(item: HeldAlert, t: Texts, where: tzinfo, now: datetime) -> str:
    moment = item.published or item.held_at or now
    title = clip(item.title or item.url, TITLE_CHARS)
    outlets = [html.escape(clip(item.source, 60))]
    outlets += [link(o.url, clip(o.name, 60)) for o in item.also[:OUTLETS_SHOWN]]
    more = len(item.also) - OUTLETS_SHOWN
    when = html.escape(t.day_time(moment, where, today=now))
    head = f"• {when} {link(item.url, title)} — {', '.join(outlets)}"
    head += f" +{more}" if more > 0 else ""
    return head + (f"\n  <i>{esc(item.snippet, LINE_CHARS)}</i>" if item.snippet else "")


def _sections(
    items: Sequence[HeldAlert], names: dict[str, str], view: View
) -> list[tuple[str, list[HeldAlert]]]:
    """Items under the chat's topics, each once, under its strongest one; topics in rules order."""
    order = {t: i for i, t in enumerate(names)}
    sections: dict[str, list[HeldAlert]] = {}
    for item in items:
        own = [t for t in item.topics if view.topics is None or t in view.topics]
        topic = (own or list(item.topics) or ["?"])[0]
        sections.setdefault(topic, []).append(item)
    ranked = sorted(sections.items(), key=lambda s: order.get(s[0], len(order)))
    return [
        (topic, sorted(its, key=lambda i: i.published or i.held_at or utcnow()))
        for topic, its in ranked
    ]


def _title(kind: str, t: Texts, since: datetime, now: datetime, where: tzinfo, count: int) -> str:
    span = f"{t.when(since, where, now=now)} – {t.clock(now, where)}"
    if since.astimezone(where).date() != now.astimezone(where).date():
        span = f"{t.when(since, where, now=now)} – {t.when(now, where, now=now)}"
    alerts = t.n("{n} alert", "{n} alerts", count)
    if kind == QUIET:
        return t._("<b>🌙 While you were away</b> · {span} · {alerts}", span=span, alerts=alerts)
    return t._("<b>📰 Digest</b> · {span} · {alerts}", span=span, alerts=alerts)


def render_digest(
    items: Sequence[HeldAlert],
    names: dict[str, str],
    view: View,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    kind: str = DIGEST,
) -> list[str]:
    """The digest's messages: a header, then sections per topic, every part under the limit."""
    now = now or utcnow()
    t, where = texts(view.lang), zone(view.timezone)
    start = since or min((i.held_at or now for i in items), default=now)
    parts: list[list[str]] = [[]]
    used = 0
    for topic, members in _sections(items, names, view):
        name = esc(names.get(topic, topic), 80)
        for n, item in enumerate(members):
            line = _item(item, t, where, now)
            size = visible_length(line) + 1
            heading = f"\n<b>{name}</b>" if n == 0 else ""
            if used + size + visible_length(heading) > PART_BUDGET and parts[-1]:
                parts.append([])
                used = 0
                heading = f"\n<b>{name}</b>" + ("" if n == 0 else " " + t._("(continued)"))
            if heading:
                parts[-1].append(heading)
                used += visible_length(heading) + 1
            parts[-1].append(line)
            used += size
    header = _title(kind, t, start, now, where, len(items))
    total = len(parts)
    out = []
    for number, lines in enumerate(parts, 1):
        part = t._("part {part} of {total}", part=number, total=total) if total > 1 else ""
        out.append(header + (f" · {part}" if part else "") + "\n" + "\n".join(lines))
    return out


class Digester:
    """Builds the digests that are due: digest chats' on schedule, quiet hours' when they end."""

    def __init__(self, store: Store, topic_names: Callable[[], dict[str, str]]) -> None:
        self.store, self.topic_names = store, topic_names

    def _kind(self, chat: DigestChat, now: datetime) -> str | None:
        if chat.paused:
            return None  # held until /resume
        if chat.quiet and in_window(now, zone(chat.timezone), *chat.quiet):
            return None  # held until the quiet hours end
        if chat.mode == "instant":
            return QUIET  # alerts held during quiet hours (or before a switch to instant)
        return DIGEST if now >= next_due(chat) else None

    def run_due(self, now: datetime | None = None) -> int:
        """Build every due digest; returns how many chats got one."""
        now = now or utcnow()
        made = 0
        for chat in self.store.digests.chats():
            kind = self._kind(chat, now)
            if kind is None:
                continue
            held = self.store.digests.held(chat.chat_id)
            if kind == QUIET and not held:
                continue
            following = frozenset(self.store.subs.topics_of(chat.chat_id))
            view = View(following, pick(chat.language), chat.timezone)
            since = chat.last_digest_at if kind == DIGEST else None
            parts = (
                render_digest(held, self.topic_names(), view, since=since, now=now, kind=kind)
                if held
                else []
            )
            key = f"{kind}-{now:%Y%m%dT%H%M}"
            self.store.digests.commit(chat.chat_id, key, parts, [h.outbox_id for h in held])
            made += bool(parts)
            log.info(
                "digest_built",
                extra={
                    "chat_id": chat.chat_id,
                    "kind": kind,
                    "alerts": len(held),
                    "messages": len(parts),
                },
            )
        return made
