"""Admin commands for the feed list: /feeds (numbered, paged, health in words), /addfeed, /rmfeed.

Edits go through ``bot.config.edit``: the same validation as a hand edit, written
to feeds.yaml, so they survive restarts and the file stays the one source of
truth. Failures are said in words, never as a path or a YAML location.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config.feeds import load_feeds
from bot.config.settings import Settings
from bot.core.errors import ConfigError, FeedError
from bot.core.feedwords import ago, failure_words, span
from bot.core.htmltext import cut_text
from bot.core.i18n import N_, Html, Texts, esc
from bot.core.message import Keyboard
from bot.delivery.render import clip, link
from bot.store.feeds import FeedHealth
from bot.store.problems import FeedProblems
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command, Conversation
from bot.telegram.paging import nav_row, page_of, titled

LATE_SHOWN_SECONDS = 10.0  # a poll that started this late past its due time is shown

log = logging.getLogger(__name__)
# /addfeed: (the feed's URL, its title, found through a web page?), read by the service.
Probe = Callable[[str], Awaitable[tuple[str, str, bool]]]
FEEDS_PER_PAGE = 10
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
STATE_WORDS = {
    "retrying": N_("to be retried"),
    "given_up": N_("given up"),
    "quarantined": N_("quarantined"),
}


def unanalysed_words(found: FeedProblems | None, t: Texts) -> str:
    """The feed's items whose page could not be analysed, in words ("" when none)."""
    if found is None or found.last is None:
        return ""
    counts = []
    if found.retrying:
        counts.append(t.n("{n} item to retry", "{n} items to retry", found.retrying))
    if found.settled:
        counts.append(
            t.n(
                "{n} item recorded without its page",
                "{n} items recorded without their page",
                found.settled,
            )
        )
    last = found.last
    state = t._(STATE_WORDS.get(last.state, last.state))
    why = t._(
        "latest, {state} after {n} tries: {reason}",
        state=state,
        n=last.attempts,
        reason=cut_text(last.reason, 200),
    )
    return "\n    ⚠️ " + "; ".join([*counts, why])


def health_block(number: int, h: FeedHealth, t: Texts, problems: FeedProblems | None = None) -> str:
    """One numbered feed: its name, its health in words, its address."""
    name = f"<b>{esc(clip(h.name, 80))}</b>"
    if h.consecutive_failures:
        state = "❌ " + t._(
            "failing for {span}: {why}",
            span=span(h.failing_since or h.last_error_at, t),  # type: ignore[arg-type]
            why=failure_words(h.error_kind, t),
        )
    else:
        state = "✅ " + t._(
            "ok, read {ago}; {items}",
            ago=ago(h.last_success_at, t),  # type: ignore[arg-type]
            items=t.n("{n} article", "{n} articles", h.items_seen),
        )
    address = link(h.url, clip(h.url, 120))
    late = ""
    if h.poll_lateness is not None and h.poll_lateness >= LATE_SHOWN_SECONDS:
        late = "\n    ⏱ " + t._(
            "polled {n} s late last time: its host cannot keep up at this interval, "
            "or every poller was busy",
            n=round(h.poll_lateness),
        )
    return f"{number}. {name} — {state}\n    {address}{late}{unanalysed_words(problems, t)}"


class FeedAdmin:
    """The feed list, for admins."""

    def __init__(self, ui: ChatUI, settings: Settings, probe: Probe) -> None:
        self.ui, self.settings, self.probe = ui, settings, probe
        self.store = ui.store

    async def feeds_page(self, cmd: Command, page: int) -> tuple[str, Keyboard]:
        """One page of the numbered feed list."""
        t = self.ui.texts_for(cmd)
        problems = self.store.problems.by_feed()
        blocks = [
            health_block(n, h, t, problems.get(h.id))
            for n, h in enumerate(self.store.feeds.health(), 1)
        ]
        shown = page_of(blocks, page, most=FEEDS_PER_PAGE, empty=t._("No feeds configured."))
        text = titled("<b>" + t._("Feeds") + "</b>", shown, t)
        nav = nav_row(self.ui.signer, cmd.chat_id, "feeds", shown, t)
        return text, (nav,) if nav else ()

    async def feeds(self, cmd: Command, conv: Conversation) -> None:
        """Each feed's health, numbered for /rmfeed."""
        text, keyboard = await self.feeds_page(cmd, 1)
        await conv.reply(text, keyboard)

    async def addfeed(self, cmd: Command, conv: Conversation) -> None:
        """Add a feed after reading it once (a web page's advertised feed is found too)."""
        t = self.ui.texts_for(cmd)
        usage = t._("Usage: /addfeed &lt;url&gt; [name] [language]")
        if not cmd.args or not cmd.args[0].startswith(("http://", "https://")):
            await conv.reply(usage)
            return
        rest = list(cmd.args[1:])
        language = rest.pop() if rest and _LANGUAGE.match(rest[-1]) else None
        given = " ".join(rest)
        async with conv.typing():
            try:
                url, title, via_page = await self.probe(cmd.args[0])
            except FeedError as exc:
                log.info("feed_refused", extra={"feed_url": cmd.args[0], "error": str(exc)})
                await conv.reply(t._("Refused: {why}.", why=failure_words(exc.kind, t)))
                return
        if url in {f.url for f in load_feeds(self.settings.feeds_path).feeds}:
            await conv.reply(t._("That feed is already in the list (/feeds)."))
            return
        name = clip(given or title or url, 200)
        entry = {"url": url, "name": name, **({"language": language} if language else {})}
        if not await self._save(conv, t, lambda doc: doc.setdefault("feeds", []).append(entry)):
            return
        text = t._("Added <b>{name}</b>: {url}", name=name, url=url)
        if via_page:
            text += "\n" + t._("I found this feed through the web page you gave.")
        await conv.reply(text)

    async def _save(self, conv: Conversation, t: Texts, change: Callable[[Any], None]) -> bool:
        try:
            from bot.config.edit import edit_feeds  # ruamel.yaml: loaded for the first edit

            feeds = edit_feeds(self.settings.feeds_path, change)
        except ConfigError as exc:
            log.warning("feeds_edit_refused", extra={"error": str(exc)})
            await conv.reply(
                t._(
                    "Refused: the feed list would not be valid, or could not be written, "
                    "so nothing was changed. `newsbot check-config` on the server says why."
                )
            )
            return False
        self.store.feeds.sync(feeds.enabled())
        return True

    async def rmfeed(self, cmd: Command, conv: Conversation) -> None:
        """Remove a feed, by its number in /feeds or its URL (its history is kept)."""
        t = self.ui.texts_for(cmd)
        if len(cmd.args) != 1:
            await conv.reply(t._("Usage: /rmfeed &lt;number or url&gt; (numbers as in /feeds)"))
            return
        health = self.store.feeds.health()
        wanted = cmd.args[0]
        url = next((h.config_url for h in health if wanted in (h.url, h.config_url)), wanted)
        if wanted.isdigit() and 1 <= int(wanted) <= len(health):
            url = health[int(wanted) - 1].config_url
        configured = {f.url: f for f in load_feeds(self.settings.feeds_path).feeds}
        if url not in configured:
            await conv.reply(
                t._(
                    "There is no feed “{feed}” in the list: /feeds shows the numbers.",
                    feed=clip(wanted, 80),
                )
            )
            return
        name = configured[url].name

        def drop(doc: dict) -> None:
            doc["feeds"] = type(doc["feeds"])([f for f in doc["feeds"] if f.get("url") != url])

        if await self._save(conv, t, drop):
            await conv.reply(t._("Removed <b>{name}</b>: {url}", name=name, url=Html(esc(url))))
