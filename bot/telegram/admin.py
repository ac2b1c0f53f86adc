"""Admin commands: feed health and edits, rule edits, a dry test of one URL, stats.

Admins are the user ids in ``telegram.admins``. Rule and feed edits go through
``bot.config.edit``: the same validation as a hand edit, written to the files,
so they survive restarts and the files stay the one source of truth.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.errors import ConfigError, NewsbotError
from bot.core.htmltext import cut_html
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import discover_feeds, parse_feed
from bot.rules.edit import add_term, add_topic, edit_rules, remove_term
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command, Conversation, Handler

COMMANDS = [
    ("feeds", "Admin: feed health"),
    ("addfeed", "Admin: /addfeed <url>"),
    ("rmfeed", "Admin: /rmfeed <url>"),
    ("rules", "Admin: list topics and their terms"),
    ("addtopic", "Admin: /addtopic <id> <name>"),
    ("addterm", "Admin: /addterm <topic> <term>"),
    ("rmterm", "Admin: /rmterm <topic> <term>"),
    ("test", "Admin: /test <url> – explain matches, alert nobody"),
    ("stats", "Admin: counts and queue depth"),
]
# /test: the report for one URL, from the running service's fetcher, workers and rules.
Explain = Callable[[str], Awaitable[str]]


def _age(value: object) -> str:
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())  # type: ignore[operator]
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m ago" if seconds >= 60 else "just now"


class AdminUI:
    """Handlers for admins only; everyone else gets a clear refusal."""

    def __init__(self, ui: ChatUI, settings: Settings, fetcher: Fetcher, explain: Explain) -> None:
        self.ui, self.settings, self.fetcher, self.explain = ui, settings, fetcher, explain
        self.store = ui.store

    def admin_only(self, fn: Handler) -> Handler:
        async def guarded(cmd: Command, conv: Conversation) -> None:
            if cmd.user_id not in self.settings.telegram.admins:
                await conv.reply("Sorry, this command is for this bot's admins only.")
                return
            try:
                await fn(cmd, conv)
            except NewsbotError as exc:
                await conv.reply(cut_html(f"Refused: {html.escape(str(exc), quote=False)}"))

        return guarded

    async def feeds(self, cmd: Command, conv: Conversation) -> None:
        """Each feed's health."""
        lines = []
        for h in self.store.feeds.health():
            state = "✅" if not h.consecutive_failures else f"❌×{h.consecutive_failures}"
            error = (
                f"\n   last error: {html.escape((h.last_error or '')[:200])}"
                if h.last_error
                else ""
            )
            lines.append(
                f"{state} <b>{html.escape(h.name)}</b>: ok {_age(h.last_success_at)}, "
                f"{h.items_seen} items{error}"
            )
        await conv.reply("\n".join(lines) or "No feeds configured.")

    async def addfeed(self, cmd: Command, conv: Conversation) -> None:
        """Add a feed after fetching it once (a web page's advertised feed is found too)."""
        if len(cmd.args) != 1 or not cmd.args[0].startswith(("http://", "https://")):
            await conv.reply("Usage: /addfeed &lt;url&gt;")
            return
        url, title = await self._probe(cmd.args[0])
        name = title or url
        feeds = edit_feeds(
            self.settings.feeds_path,
            lambda doc: doc.setdefault("feeds", []).append({"url": url, "name": name[:200]}),
        )
        self.store.feeds.sync(feeds.enabled())
        await conv.reply(f"Added <b>{html.escape(name)}</b>: {html.escape(url)}")

    async def _probe(self, url: str) -> tuple[str, str]:
        result = await self.fetcher.fetch_feed(url)
        try:
            return result.final_url, parse_feed(result.body, result.final_url).title
        except NewsbotError:
            found = discover_feeds(result.body, result.final_url)
            if not found:
                raise
        result = await self.fetcher.fetch_feed(found[0])
        return result.final_url, parse_feed(result.body, result.final_url).title

    async def rmfeed(self, cmd: Command, conv: Conversation) -> None:
        """Remove a feed from the list (its history is kept)."""
        if len(cmd.args) != 1:
            await conv.reply("Usage: /rmfeed &lt;url&gt;")
            return
        url = cmd.args[0]
        if url not in {f.url for f in load_feeds(self.settings.feeds_path).feeds}:
            raise ConfigError(f"{url} is not in {self.settings.feeds_path}")

        def drop(doc: dict) -> None:
            doc["feeds"] = type(doc["feeds"])([f for f in doc["feeds"] if f.get("url") != url])

        self.store.feeds.sync(edit_feeds(self.settings.feeds_path, drop).enabled())
        await conv.reply(f"Removed {html.escape(url)}")

    async def rules(self, cmd: Command, conv: Conversation) -> None:
        """List topics with their terms."""
        lines = [f"Rules file: <code>{html.escape(str(self.settings.rules_path))}</code>"]
        for t in self.ui.topics():
            terms = ", ".join(
                getattr(x, "label", f"topic:{getattr(x, 'topic_id', '')}") for x in t.any
            )
            lines.append(
                f"<b>{t.id}</b> ({html.escape(t.name)}), min_hits {t.min_hits}: "
                f"{html.escape(terms)}"
            )
        await conv.reply("\n".join(lines))

    async def _edit_rules(self, conv: Conversation, change: Callable, done: str) -> None:
        edit_rules(self.settings.rules_path, change)
        self.ui.rules.current()  # take the edit now, not at the next cycle
        await conv.reply(done)

    async def addtopic(self, cmd: Command, conv: Conversation) -> None:
        """Create a topic whose first term is its name."""
        if len(cmd.args) < 2:
            await conv.reply("Usage: /addtopic &lt;id&gt; &lt;name&gt;")
            return
        topic_id, name = cmd.args[0], " ".join(cmd.args[1:])
        await self._edit_rules(
            conv,
            lambda doc: add_topic(doc, topic_id, name),
            f"Added topic <b>{html.escape(name)}</b> ({html.escape(topic_id)}).",
        )

    async def addterm(self, cmd: Command, conv: Conversation) -> None:
        """Add a term to a topic."""
        await self._term(cmd, conv, add_term, "Added")

    async def rmterm(self, cmd: Command, conv: Conversation) -> None:
        """Remove a term from a topic."""
        await self._term(cmd, conv, remove_term, "Removed")

    async def _term(self, cmd: Command, conv: Conversation, op: Callable, verb: str) -> None:
        if len(cmd.args) < 2:
            name = "addterm" if verb == "Added" else "rmterm"
            await conv.reply(f"Usage: /{name} &lt;topic&gt; &lt;term&gt;")
            return
        topic_id, term = cmd.args[0], " ".join(cmd.args[1:])
        await self._edit_rules(
            conv,
            lambda doc: op(doc, topic_id, term),
            f"{verb} '{html.escape(term)}' in <b>{html.escape(topic_id)}</b>.",
        )

    async def test(self, cmd: Command, conv: Conversation) -> None:
        """Fetch, extract and explain one URL without alerting anyone."""
        if len(cmd.args) != 1 or not cmd.args[0].startswith(("http://", "https://")):
            await conv.reply("Usage: /test &lt;url&gt;")
            return
        report = await self.explain(cmd.args[0])
        await conv.reply(html.escape(report.rstrip("\n")) or "(nothing)")

    async def stats(self, cmd: Command, conv: Conversation) -> None:
        """Counts: feeds, items, outbox."""
        health = self.store.feeds.health()
        failing = sum(1 for h in health if h.consecutive_failures)
        outbox = self.store.outbox.counts()
        lines = [
            f"Feeds: {len(health)} ({failing} failing)",
            f"Items seen: {sum(h.items_seen for h in health)}",
            "Outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(outbox.items())) or "empty"),
            f"Topics: {len(self.ui.topics())}",
        ]
        await conv.reply("\n".join(lines))

    def commands(self) -> dict[str, Handler]:
        """The admin commands, each refused to everyone but the admins."""
        return {name: self.admin_only(getattr(self, name)) for name, _ in COMMANDS}
