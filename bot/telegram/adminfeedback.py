"""Admin /feedback: the alerts chats reported as not relevant, and the terms that fired.

The raw material for tuning the rules: each report with its article, and the
terms reported most, so an admin sees which term to narrow or exclude.
"""

from __future__ import annotations

import html
from datetime import tzinfo

from bot.core.i18n import Html, esc
from bot.core.localtime import zone
from bot.core.message import Keyboard
from bot.delivery.render import clip, link
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command, Conversation
from bot.telegram.paging import nav_row, page_of, titled

REPORTS_PER_PAGE = 8
RECENT = 500  # reports paged through; older ones count in the totals only


class Reports:
    """The "not relevant" reports, for admins."""

    def __init__(self, ui: ChatUI) -> None:
        self.ui, self.store = ui, ui.store

    async def feedback_page(self, cmd: Command, page: int) -> tuple[str, Keyboard]:
        """One page of "not relevant" reports, newest first, with the terms that fired."""
        t = self.ui.texts_for(cmd)
        names = {x.id: x.name for x in self.ui.topics()}
        reports = self.store.feedback.recent(limit=RECENT)
        blocks = []
        for r in reports:
            terms = "; ".join(
                f"{esc(names.get(x.topic_id, x.topic_id))}: <code>{esc(x.term)}</code>"
                f" (“{esc(clip(x.text, 40))}”)"
                for x in r.terms
            )
            when = html.escape(t.when(r.created_at, self._zone(cmd)))
            blocks.append(
                f"• {when} · {link(r.url, clip(r.title or r.url, 150))} — "
                f"{esc(clip(r.source, 60))}\n  {terms}"
            )
        top = self.store.feedback.by_term(limit=5)
        head = "<b>" + t._("Reported as not relevant") + "</b>"
        if top:
            most = ", ".join(
                f"<code>{esc(x.term)}</code> ({esc(names.get(x.topic_id, x.topic_id))})"
                f" ×{x.reports}"
                for x in top
            )
            head += "\n" + t._("Terms reported most: {terms}", terms=Html(most))
        shown = page_of(blocks, page, most=REPORTS_PER_PAGE, empty=t._("No reports yet."))
        nav = nav_row(self.ui.signer, cmd.chat_id, "feedback", shown, t)
        return titled(head, shown, t), (nav,) if nav else ()

    def _zone(self, cmd: Command) -> tzinfo:
        return zone(self.store.subs.settings_of(cmd.chat_id).timezone)

    async def feedback(self, cmd: Command, conv: Conversation) -> None:
        """The "not relevant" reports: what chats found off-topic, and which terms fired."""
        text, keyboard = await self.feedback_page(cmd, 1)
        await conv.reply(text, keyboard)
