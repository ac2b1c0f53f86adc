"""Admin commands: feed health and edits, rule edits, a dry test of one URL, stats.

Admins are the user ids in ``telegram.admins``. Rule and feed edits go through
``bot.config.edit``: the same validation as a hand edit, written to the files,
so they survive restarts and the files stay the one source of truth.
"""

from __future__ import annotations

import html
import io
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.analysis.pool import WorkerPool
from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.errors import ConfigError, NewsbotError
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import discover_feeds, parse_feed
from bot.pipeline.explain import load_article, report
from bot.rules.edit import add_term, add_topic, edit_rules, remove_term
from bot.telegram.commands import ChatUI, command_from, reply

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
CHUNK = 3800
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


async def reply_long(update: Update, lines: list[str]) -> None:
    """Reply with as many messages as needed, split between lines, each under the limit."""
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > CHUNK:
            await reply(update, chunk)
            chunk = ""
        chunk += ("\n" if chunk else "") + line[:CHUNK]
    await reply(update, chunk or "(nothing)")


def _age(value: object) -> str:
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())  # type: ignore[operator]
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m ago" if seconds >= 60 else "just now"


class AdminUI:
    """Handlers for admins only; everyone else gets a clear refusal."""

    def __init__(
        self, ui: ChatUI, settings: Settings, fetcher: Fetcher, workers: WorkerPool
    ) -> None:
        self.ui, self.settings, self.fetcher, self.workers = ui, settings, fetcher, workers
        self.store = ui.store

    def admin_only(self, fn: Handler) -> Handler:
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if command_from(update, context).user_id not in self.settings.telegram.admins:
                await reply(update, "Sorry, this command is for this bot's admins only.")
                return
            try:
                await fn(update, context)
            except (ConfigError, NewsbotError) as exc:
                await reply(update, f"Refused: {html.escape(str(exc), quote=False)[:3500]}")

        return guarded

    async def feeds(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        await reply_long(update, lines or ["No feeds configured."])

    async def addfeed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Add a feed after fetching it once (a web page's advertised feed is found too)."""
        cmd = command_from(update, context)
        if len(cmd.args) != 1 or not cmd.args[0].startswith(("http://", "https://")):
            await reply(update, "Usage: /addfeed &lt;url&gt;")
            return
        url, title = await self._probe(cmd.args[0])
        name = title or url
        feeds = edit_feeds(
            self.settings.feeds_path,
            lambda doc: doc.setdefault("feeds", []).append({"url": url, "name": name[:200]}),
        )
        self.store.feeds.sync(feeds.enabled())
        await reply(update, f"Added <b>{html.escape(name)}</b>: {html.escape(url)}")

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

    async def rmfeed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remove a feed from the list (its history is kept)."""
        cmd = command_from(update, context)
        if len(cmd.args) != 1:
            await reply(update, "Usage: /rmfeed &lt;url&gt;")
            return
        url = cmd.args[0]
        if url not in {f.url for f in load_feeds(self.settings.feeds_path).feeds}:
            raise ConfigError(f"{url} is not in {self.settings.feeds_path}")

        def drop(doc: dict) -> None:
            doc["feeds"] = type(doc["feeds"])([f for f in doc["feeds"] if f.get("url") != url])

        self.store.feeds.sync(edit_feeds(self.settings.feeds_path, drop).enabled())
        await reply(update, f"Removed {html.escape(url)}")

    async def rules(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List topics with their terms."""
        lines = [f"Rules file: <code>{html.escape(str(self.settings.rules_path))}</code>"]
        for t in self.ui.topics():
            terms = ", ".join(
                getattr(x, "label", f"topic:{getattr(x, 'topic_id', '')}") for x in t.any
            )
            lines.append(
                f"<b>{t.id}</b> ({html.escape(t.name)}), min_hits {t.min_hits}: "
                f"{html.escape(terms[:600])}"
            )
        await reply_long(update, lines)

    async def _edit_rules(self, update: Update, change: Callable, done: str) -> None:
        edit_rules(self.settings.rules_path, change)
        self.ui.rules.current()  # take the edit now, not at the next cycle
        await reply(update, done)

    async def addtopic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Create a topic whose first term is its name."""
        cmd = command_from(update, context)
        if len(cmd.args) < 2:
            await reply(update, "Usage: /addtopic &lt;id&gt; &lt;name&gt;")
            return
        topic_id, name = cmd.args[0], " ".join(cmd.args[1:])
        await self._edit_rules(
            update,
            lambda doc: add_topic(doc, topic_id, name),
            f"Added topic <b>{html.escape(name)}</b> ({html.escape(topic_id)}).",
        )

    async def addterm(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Add a term to a topic."""
        await self._term(update, context, add_term, "Added")

    async def rmterm(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remove a term from a topic."""
        await self._term(update, context, remove_term, "Removed")

    async def _term(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, op: Callable, verb: str
    ) -> None:
        cmd = command_from(update, context)
        if len(cmd.args) < 2:
            name = "addterm" if verb == "Added" else "rmterm"
            await reply(update, f"Usage: /{name} &lt;topic&gt; &lt;term&gt;")
            return
        topic_id, term = cmd.args[0], " ".join(cmd.args[1:])
        await self._edit_rules(
            update,
            lambda doc: op(doc, topic_id, term),
            f"{verb} '{html.escape(term)}' in <b>{html.escape(topic_id)}</b>.",
        )

    async def test(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Fetch, extract and explain one URL without alerting anyone."""
        cmd = command_from(update, context)
        if len(cmd.args) != 1 or not cmd.args[0].startswith(("http://", "https://")):
            await reply(update, "Usage: /test &lt;url&gt;")
            return
        article = await load_article(cmd.args[0], self.fetcher, self.workers)
        out = io.StringIO()
        report(article, self.ui.rules.matcher, out)
        await reply_long(update, [html.escape(line) for line in out.getvalue().splitlines()])

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        await reply(update, "\n".join(lines))

    def install(self, app: Application) -> None:
        """Register the admin handlers."""
        for name, _ in COMMANDS:
            app.add_handler(CommandHandler(name, self.admin_only(getattr(self, name))))
