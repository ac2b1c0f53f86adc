"""Admin commands: feed and rule edits (adminfeeds, adminrules), a dry /test, /stats, /feedback.

Admins are the user ids in ``telegram.admins``; everyone else gets a clear
refusal. An admin command typed in a group is answered in the admin's private
chat, so feed health and rules never land in front of the whole group.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from bot.config.settings import Settings
from bot.core.clock import utcnow
from bot.core.errors import NewsbotError
from bot.core.i18n import N_, Html, Texts, esc
from bot.core.message import Keyboard
from bot.core.models import Article, Hit
from bot.delivery.render import clip, link
from bot.rules.matcher import Verdict
from bot.store.logins import LOGIN_TTL
from bot.telegram.adminfeedback import Reports
from bot.telegram.adminfeeds import FeedAdmin, Probe, failure_words
from bot.telegram.adminrules import RulesAdmin
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command, Conversation, Handler
from bot.telegram.privately import PrivateAnswer
from bot.telegram.verdicts import verdict_words

log = logging.getLogger(__name__)
COMMANDS = [
    ("feeds", N_("Feeds and their health, numbered")),
    ("addfeed", N_("Add a feed: /addfeed <url> [name] [language]")),
    ("rmfeed", N_("Remove a feed: /rmfeed <number or url>")),
    ("rules", N_("Every topic and its terms")),
    ("addtopic", N_("New topic: /addtopic <id> <name>")),
    ("addterm", N_("Add a term: /addterm <topic> <term>")),
    ("rmterm", N_("Remove a term: /rmterm <topic> <term>")),
    ("test", N_("Which topics one article matches: /test <url>")),
    ("stats", N_("Feeds, articles, chats and alerts in numbers")),
    ("feedback", N_("Alerts reported as not relevant")),
    ("console", N_("A one-time login link to the web console")),
]
REPORTS_PER_PAGE = 8
# /test: the article at a URL and every verdict on it, read by the running service.
Explain = Callable[[str], Awaitable[tuple[Article, list[Verdict]]]]


def _hits_in_words(hits: tuple[Hit, ...], t: Texts) -> str:
    counts = Counter(h.text.casefold() for h in hits)
    first = {h.text.casefold(): h.text for h in reversed(hits)}
    shown = [
        f"{esc(clip(first[k], 40))} ×{n}" if n > 1 else esc(clip(first[k], 40))
        for k, n in counts.most_common(6)
    ]
    return ", ".join(shown) + (", …" if len(counts) > 6 else "")


class AdminUI:
    """Handlers for admins only."""

    def __init__(self, ui: ChatUI, settings: Settings, probe: Probe, explain: Explain) -> None:
        self.ui, self.settings, self.explain = ui, settings, explain
        self.store = ui.store
        self.feed_admin = FeedAdmin(ui, settings, probe)
        self.rules_admin = RulesAdmin(ui, settings)
        self.reports = Reports(ui)
        ui.admin_menu = list(COMMANDS)
        ui.lists.update(
            feeds=self._guarded_list(self.feed_admin.feeds_page),
            rules=self._guarded_list(self.rules_admin.rules_page),
            feedback=self._guarded_list(self.reports.feedback_page),
        )

    def _guarded_list(self, lister: Callable) -> Callable:
        async def listed(cmd: Command, page: int) -> tuple[str, Keyboard]:
            if cmd.user_id not in self.ui.admins:
                t = self.ui.texts_for(cmd)
                return t._("Sorry, this command is for this bot's admins only."), ()
            return await lister(cmd, page)

        return listed

    def admin_only(self, fn: Handler) -> Handler:
        """``fn`` for admins, answered privately when asked in a group; a refusal for others."""

        async def guarded(cmd: Command, conv: Conversation) -> None:
            t = self.ui.texts_for(cmd)
            if cmd.user_id not in self.ui.admins:
                await conv.reply(t._("Sorry, this command is for this bot's admins only."))
                return
            if not cmd.in_group or cmd.user_id is None:
                await self._run(fn, cmd, conv, t)
                return
            private = PrivateAnswer(conv)
            mine = replace(cmd, chat_id=cmd.user_id, chat_type="private")
            await self._run(fn, mine, private, t)
            if private.refused:
                await conv.reply(
                    t._(
                        "I cannot write to you privately yet: open a chat with me, press "
                        "Start, then send the command again."
                    )
                )
            elif private.delivered:
                await conv.reply(t._("I answered you in our private chat."))

        return guarded

    async def _run(self, fn: Handler, cmd: Command, conv: Conversation, t: Texts) -> None:
        try:
            await fn(cmd, conv)
        except NewsbotError as exc:  # the handlers word what they expect; this is the rest
            log.warning("admin_command_failed", extra={"error": str(exc)})
            await conv.reply(t._("That did not work, and nothing was changed (the log says why)."))

    async def test(self, cmd: Command, conv: Conversation) -> None:
        """Fetch, extract and explain one URL in words, alerting nobody."""
        t = self.ui.texts_for(cmd)
        if len(cmd.args) != 1 or not cmd.args[0].startswith(("http://", "https://")):
            await conv.reply(t._("Usage: /test &lt;url&gt;"))
            return
        async with conv.typing():
            try:
                article, verdicts = await self.explain(cmd.args[0])
            except NewsbotError as exc:
                kind = getattr(exc, "kind", "internal")
                await conv.reply(
                    t._("I could not read that page: {why}.", why=failure_words(kind, t))
                )
                return
        await conv.reply(self._explained(article, verdicts, t))

    def _explained(self, article: Article, verdicts: list[Verdict], t: Texts) -> str:
        source = t._("page text") if article.text_source == "page" else t._("text")
        title = clip(article.title or article.url, 200)
        lines = [
            f"🧪 <b>{link(article.url, title)}</b>",
            t.n(
                "{n} character of {source}",
                "{n} characters of {source}",
                len(article.body),
                source=source,
            ),
            "",
        ]
        matched = [v for v in verdicts if v.matched]
        for v in sorted(verdicts, key=lambda v: not v.matched):
            name = Html(f"<b>{esc(v.topic_name)}</b>")
            if v.matched:
                lines.append(
                    "✅ "
                    + t._(
                        "{topic} matches: {hits}", topic=name, hits=Html(_hits_in_words(v.hits, t))
                    )
                )
            else:
                lines.append(
                    "➖ "
                    + t._(
                        "{topic} does not match: {why}", topic=name, why=verdict_words(v.reason, t)
                    )
                )
        untouched = len(self.ui.topics()) - len(verdicts)
        if untouched:
            lines.append(
                t.n(
                    "No term of {n} other topic hit.",
                    "No term of the {n} other topics hit.",
                    untouched,
                )
            )
        chats = self.store.subs.subscribers(v.topic_id for v in matched)
        lines += [
            "",
            t.n(
                "It would alert {n} chat. Nobody was alerted: this was a test.",
                "It would alert {n} chats. Nobody was alerted: this was a test.",
                len(chats),
            ),
        ]
        return "\n".join(lines)

    async def stats(self, cmd: Command, conv: Conversation) -> None:
        """Feeds, articles, chats and alerts, in plain words."""
        t = self.ui.texts_for(cmd)
        health = self.store.feeds.health()
        failing = sum(1 for h in health if h.consecutive_failures)
        outbox = self.store.outbox.counts()
        chats = self.store.subs.counts()
        day = self.store.items.matched_since(utcnow() - timedelta(days=1))
        reports = self.store.feedback.count()
        week = self.store.feedback.count(utcnow() - timedelta(days=7))
        lines = [
            "<b>" + t._("newsbot in numbers") + "</b>",
            t._("Feeds: {feeds}, {failing} failing", feeds=len(health), failing=failing),
            t._(
                "Articles read: {read}; matched in the last 24 hours: {day}",
                read=t.number(sum(h.items_seen for h in health)),
                day=t.number(day),
            ),
            t._(
                "Chats following topics: {chats} ({groups} groups, {paused} paused)",
                chats=chats.chats,
                groups=chats.groups,
                paused=chats.paused,
            ),
            t._("Subscriptions: {n}", n=chats.subscriptions),
            t._(
                "Alerts waiting to be sent: {pending}; held for digests: {held}",
                pending=outbox.get("pending", 0),
                held=outbox.get("held", 0),
            ),
            t._(
                "Alerts sent: {sent}; refused by Telegram: {failed}; for chats gone: {dropped}",
                sent=t.number(outbox.get("sent", 0)),
                failed=outbox.get("failed", 0),
                dropped=outbox.get("dropped", 0),
            ),
            t._(
                "Reported as not relevant: {total} ({week} in the last 7 days) — /feedback",
                total=reports,
                week=week,
            ),
            t._("Topics: {n}", n=len(self.ui.topics())),
        ]
        await conv.reply("\n".join(lines))

    async def console(self, cmd: Command, conv: Conversation) -> None:
        """A one-time, short-lived login link to the web console (answered privately)."""
        t = self.ui.texts_for(cmd)
        web = self.settings.web
        if not web.port or cmd.user_id is None:
            await conv.reply(t._("The web console is off (web.port is 0 in settings.yaml)."))
            return
        token = self.store.logins.issue(cmd.user_id, LOGIN_TTL)
        url = f"{web.base_url}/login?token={token}"
        minutes = int(LOGIN_TTL.total_seconds() // 60)
        log.info("console_link_issued", extra={"user_id": cmd.user_id})
        # The address as text, not an <a href>: Telegram refuses some hosts in links
        # (a loopback or LAN address, say), and the clients make it a link anyway.
        await conv.reply(
            t._("Your web console link, for one use within {n} minutes:", n=minutes)
            + "\n"
            + esc(url)
        )

    def commands(self) -> dict[str, Handler]:
        """The admin commands, each refused to everyone but the admins."""
        handlers: dict[str, Handler] = {
            "feeds": self.feed_admin.feeds,
            "addfeed": self.feed_admin.addfeed,
            "rmfeed": self.feed_admin.rmfeed,
            "rules": self.rules_admin.rules,
            "addtopic": self.rules_admin.addtopic,
            "addterm": self.rules_admin.addterm,
            "rmterm": self.rules_admin.rmterm,
            "test": self.test,
            "stats": self.stats,
            "feedback": self.reports.feedback,
            "console": self.console,
        }
        return {name: self.admin_only(handlers[name]) for name, _ in COMMANDS}
