"""Admin commands for the topic rules: /rules (every part of every topic, paged),
/addtopic, /addterm and /rmterm.

/rules prints terms exactly as the rules file holds them, and /rmterm takes a
term as /rules prints it, wherever the topic holds it (even in a shared
``@list``). Refusals name the topic and the term and say what is wrong in words:
never a file path, a YAML location, or a regular expression.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config.settings import Settings
from bot.config.yamlfile import read_yaml
from bot.core.errors import ConfigError
from bot.core.i18n import Html, Texts, esc
from bot.core.message import Keyboard
from bot.delivery.render import clip
from bot.rules.edit import (
    PARTS,
    EditRefused,
    add_term,
    add_topic,
    edit_rules,
    list_users,
    remove_term,
    term_problem,
)
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command, Conversation
from bot.telegram.paging import nav_row, page_of, titled
from bot.telegram.topics import QUOTES

log = logging.getLogger(__name__)
TOPICS_PER_PAGE = 6
ECHO_CHARS = 80


def _code(term: object) -> str:
    return f"<code>{esc(str(term))}</code>"


def regex_words(reason: str, t: Texts) -> str:
    """Why a regular expression was refused, in words (the expression itself not shown)."""
    r = reason.lower()
    if "backreference" in r:
        return t._("it uses a back-reference, which is not allowed")
    if "catastrophic" in r or "too slow" in r:
        return t._("it could take very long on some texts")
    if "empty string" in r:
        return t._("it matches empty text, so it would hit every article")
    if "longer than" in r:
        return t._("it is longer than 300 characters")
    return t._("it is not a valid regular expression")


def word_words(reason: str, t: Texts) -> str:
    """Why a word or phrase term was refused, in words."""
    r = reason.lower()
    if "only allowed at the end" in r:
        return t._("a * may only end a word")
    if "no letters or digits" in r:
        return t._("it has no letters or digits")
    if "wildcard needs" in r:
        return t._("a word ending in * needs at least 3 letters before the *")
    return t._("it is empty")


class RulesAdmin:
    """The rules file, for admins."""

    def __init__(self, ui: ChatUI, settings: Settings) -> None:
        self.ui, self.settings = ui, settings

    def _doc(self) -> dict:
        data, _ = read_yaml(self.settings.rules_path)
        return data if isinstance(data, dict) else {}

    def _topic_block(self, topic: dict, t: Texts) -> str:
        lines = [
            f"<b>{esc(str(topic.get('name', '')))}</b> (<code>{esc(str(topic.get('id')))}</code>)"
        ]
        for part in PARTS:
            value = topic.get(part) or []
            if not value:
                continue
            if part == "all":
                shown = " · ".join(
                    f"({n}) " + ", ".join(_code(x) for x in group)
                    for n, group in enumerate(value, 1)
                )
            else:
                shown = ", ".join(_code(x) for x in value)
            lines.append(f"{part}: {shown}")
        extra = [f"min_hits: {topic.get('min_hits', 1)}"]
        if topic.get("fields"):
            extra.append("fields: " + ", ".join(str(f) for f in topic["fields"]))
        lines.append(" · ".join(extra))
        return "\n".join(lines)

    def _list_block(self, doc: dict, name: str, terms: list, t: Texts) -> str:
        users = ", ".join(esc(str(u)) for u in list_users(doc, name)) or "—"
        head = f"<b>@{esc(name)}</b> · " + t._("list used by {topics}", topics=Html(users))
        return head + "\n" + ", ".join(_code(x) for x in terms)

    async def rules_page(self, cmd: Command, page: int) -> tuple[str, Keyboard]:
        """One page of /rules: topics with every part, then the shared lists."""
        t = self.ui.texts_for(cmd)
        doc = self._doc()
        blocks = [self._topic_block(x, t) for x in doc.get("topics") or [] if isinstance(x, dict)]
        lists = doc.get("lists") or {}
        blocks += [self._list_block(doc, n, list(v or []), t) for n, v in lists.items()]
        shown = page_of(blocks, page, most=TOPICS_PER_PAGE)
        text = titled("<b>" + t._("Rules") + "</b>", shown, t)
        nav = nav_row(self.ui.signer, cmd.chat_id, "rules", shown, t)
        return text, (nav,) if nav else ()

    async def rules(self, cmd: Command, conv: Conversation) -> None:
        """Every topic with all its parts, a page at a time."""
        text, keyboard = await self.rules_page(cmd, 1)
        await conv.reply(text, keyboard)

    async def _edit(self, conv: Conversation, t: Texts, change: Callable) -> object:
        """Apply an edit; on refusal say why in words and return None."""
        try:
            result: list = []
            edit_rules(self.settings.rules_path, lambda doc: result.append(change(doc)))
        except EditRefused as exc:
            await conv.reply(self.refusal(exc, t))
            return None
        except ConfigError as exc:
            log.warning("rules_edit_refused", extra={"error": str(exc)})
            await conv.reply(
                t._(
                    "Refused: the rules would not be valid after this change, or could not be "
                    "written, so nothing was changed. `newsbot check-config` on the server "
                    "says why."
                )
            )
            return None
        self.ui.rules.current()  # take the edit now, not at the next cycle
        return result[0] if result and result[0] is not None else ""

    def refusal(self, exc: EditRefused, t: Texts) -> str:
        """An edit refusal in words."""
        topic = self._name(exc.detail.get("topic", ""))
        term = clip(exc.detail.get("term", ""), ECHO_CHARS)
        if exc.why == "unknown_topic":
            return self.ui.unknown_topic(topic, t)
        if exc.why == "duplicate_topic":
            return t._("Refused: a topic with the id “{topic}” exists already.", topic=topic)
        if exc.why == "bad_topic_id":
            return t._(
                "Refused: a topic id is lowercase letters, digits and _, at most 40 "
                "(“{topic}” is not).",
                topic=clip(topic, ECHO_CHARS),
            )
        if exc.why == "duplicate_term":
            return t._(
                "Refused: <b>{topic}</b> has the term “{term}” already.", topic=topic, term=term
            )
        if exc.why == "would_empty_group":
            return t._(
                "Refused: “{term}” is the last term of one of <b>{topic}</b>'s 'all' groups, "
                "which would then never match.",
                topic=topic,
                term=term,
            )
        return t._(
            "Refused: <b>{topic}</b> has no term “{term}” (/rules lists them).",
            topic=topic,
            term=term,
        )

    def _name(self, topic_id: str) -> str:
        topic = self.ui.finder.by_id(topic_id)
        return topic.name if topic else topic_id

    def _args(self, cmd: Command) -> tuple[str, str] | None:
        if len(cmd.args) < 2:
            return None
        topic = self.ui.find(cmd.args[0])
        term = " ".join(cmd.args[1:]).strip().strip(QUOTES + ",;").strip()
        return (topic.id if topic else cmd.args[0]), term

    async def addtopic(self, cmd: Command, conv: Conversation) -> None:
        """Create a topic whose first term is its name."""
        t = self.ui.texts_for(cmd)
        if len(cmd.args) < 2:
            await conv.reply(t._("Usage: /addtopic &lt;id&gt; &lt;name&gt;"))
            return
        topic_id, name = cmd.args[0], clip(" ".join(cmd.args[1:]), 80)
        if await self._edit(conv, t, lambda doc: add_topic(doc, topic_id, name)) is not None:
            await conv.reply(t._("Added topic <b>{name}</b> ({topic}).", name=name, topic=topic_id))

    async def addterm(self, cmd: Command, conv: Conversation) -> None:
        """Add a term to a topic's ``any`` list, after checking it."""
        t = self.ui.texts_for(cmd)
        found = self._args(cmd)
        if found is None:
            await conv.reply(t._("Usage: /addterm &lt;topic&gt; &lt;term&gt;"))
            return
        topic_id, term = found
        problem = term_problem(term, self._doc())
        if problem is not None:
            await conv.reply(self._term_refusal(problem, self._name(topic_id), term, t))
            return
        if await self._edit(conv, t, lambda doc: add_term(doc, topic_id, term)) is not None:
            await conv.reply(
                t._("Added “{term}” to <b>{topic}</b>.", term=term, topic=self._name(topic_id))
            )

    def _term_refusal(self, problem: tuple[str, str], topic: str, term: str, t: Texts) -> str:
        kind, detail = problem
        if kind == "regex":
            return t._(
                "Refused: the regular expression for <b>{topic}</b> cannot be used: {why}.",
                topic=topic,
                why=regex_words(detail, t),
            )
        if kind == "list":
            return t._("Refused: there is no list @{name} in the rules.", name=detail)
        if kind == "topic":
            return t._("Refused: there is no topic “{name}” to refer to.", name=detail)
        return t._(
            "Refused: the term “{term}” for <b>{topic}</b> cannot be used: {why}.",
            term=clip(term, ECHO_CHARS),
            topic=topic,
            why=word_words(detail, t),
        )

    async def rmterm(self, cmd: Command, conv: Conversation) -> None:
        """Remove a term, written as /rules prints it, wherever the topic holds it."""
        t = self.ui.texts_for(cmd)
        found = self._args(cmd)
        if found is None:
            await conv.reply(t._("Usage: /rmterm &lt;topic&gt; &lt;term&gt; (as /rules prints it)"))
            return
        topic_id, term = found
        where = await self._edit(conv, t, lambda doc: remove_term(doc, topic_id, term))
        if where is None:
            return
        if str(where).startswith("@"):
            users = ", ".join(self._name(u) for u in list_users(self._doc(), str(where)[1:]))
            await conv.reply(
                t._(
                    "Removed “{term}” from the list {list} (used by: {topics}).",
                    term=term,
                    list=str(where),
                    topics=users,
                )
            )
            return
        await conv.reply(
            t._("Removed “{term}” from <b>{topic}</b>.", term=term, topic=self._name(topic_id))
        )
