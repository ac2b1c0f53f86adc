"""Chat commands: thin async handlers over the subscription store.

Each handler takes a ``Command`` and a ``Conversation`` (``bot.telegram.conversation``);
the adapter builds both from the update. Every answer is in the chat's language
(``bot.core.i18n``); wrong use is answered with ``Usage: …``, and nothing anyone
sends goes unanswered.
"""

from __future__ import annotations

from bot.core.callbacks import Signer
from bot.core.errors import SendError
from bot.core.i18n import LANGUAGES, N_, Html, Texts, esc, pick, texts
from bot.core.message import Button, Keyboard
from bot.delivery.render import clip
from bot.rules.live import LiveRules
from bot.rules.model import Topic
from bot.store import Store
from bot.telegram.conversation import Command, Conversation, Handler
from bot.telegram.paging import PAGE, Lister, Page, nav_row, page_of, titled
from bot.telegram.presses import Presses, expired
from bot.telegram.topics import TopicFinder

COMMANDS = [
    ("start", N_("What this bot does, and topic buttons")),
    ("help", N_("All commands")),
    ("topics", N_("Every topic, to follow here")),
    ("subscribe", N_("Follow topics: /subscribe <topic> [<topic> …]")),
    ("unsubscribe", N_("Stop following topics: /unsubscribe <topic> …")),
    ("language", N_("The language I speak here")),
]
TOGGLE, LANGUAGE = "tg", "lg"  # callback actions
TOPICS_PER_PAGE = 8
DESCRIPTION_CHARS = 400
ECHO_CHARS = 60


async def may_change(cmd: Command, conv: Conversation, t: Texts) -> bool:
    """In groups and channels only their admins may change what the chat receives."""
    if cmd.chat_type == "private":
        return True
    try:
        allowed = cmd.user_id is not None and await conv.is_group_admin()
    except SendError:
        text = t.plain("I could not check whether you administer this group. Please try again.")
        await (conv.answer_callback(text, alert=True) if cmd.is_press else conv.reply(text))
        return False
    if allowed:
        return True
    text = t.plain("Only this group's admins can change its subscriptions.")
    if cmd.is_press:
        await conv.answer_callback(text, alert=True)
    else:
        await conv.reply(text)
    return False


class ChatUI:
    """Handlers bound to the store, the rules in force and the button signer."""

    def __init__(
        self, store: Store, rules: LiveRules, signer: Signer, admins: tuple[int, ...] = ()
    ) -> None:
        self.store, self.rules, self.signer = store, rules, signer
        self.admins = set(admins)
        self.finder = TopicFinder(rules)
        self.menu: list[tuple[str, str]] = list(COMMANDS)  # other handler sets extend these
        self.admin_menu: list[tuple[str, str]] = []
        self.presses = Presses(signer, self.texts_for)
        self.lists: dict[str, Lister] = {"topics": self.topics_page}
        self.presses.add(TOGGLE, self.toggle)
        self.presses.add(LANGUAGE, self.choose_language)
        self.presses.add(PAGE, self.turn_page)

    def texts_for(self, cmd: Command) -> Texts:
        """The chat's language: chosen with /language, else the sender's app language."""
        return texts(self.store.subs.settings_of(cmd.chat_id).language or pick(cmd.language_code))

    def language_of(self, cmd: Command) -> str:
        """The language code ``texts_for`` speaks."""
        return self.texts_for(cmd).lang

    def topics(self) -> tuple[Topic, ...]:
        """The topics users can subscribe to."""
        return self.finder.topics()

    def topic_names(self) -> dict[str, str]:
        """Topic id -> display name, in the rules' order."""
        return {t.id: t.name for t in self.topics()}

    def find(self, name: str) -> Topic | None:
        """A topic by id, name or one of its terms, in any case."""
        return self.finder.find(name)

    def unknown_topic(self, name: str, t: Texts) -> str:
        """ "No topic …", with the closest names."""
        close = self.finder.suggest(name)
        text = t._("There is no topic “{name}”.", name=clip(name, ECHO_CHARS))
        if close:
            names = ", ".join(f"<b>{esc(c.name)}</b>" for c in close)
            text += " " + t._("Did you mean {names}?", names=Html(names))
        return text

    def keyboard(self, chat_id: int, page: int = 1, t: Texts | None = None) -> Keyboard:
        """Toggle buttons for one page of topics, ticked where followed, and ‹ ›."""
        t = t or texts(None)
        mine = set(self.store.subs.topics_of(chat_id))
        topics = self.topics()
        pages = max(1, -(-len(topics) // TOPICS_PER_PAGE))
        page = min(max(page, 1), pages)
        shown = topics[(page - 1) * TOPICS_PER_PAGE : page * TOPICS_PER_PAGE]
        rows = [
            (
                Button(
                    f"{'✅' if topic.id in mine else '➕'} {topic.name}",
                    data=self.signer.sign(chat_id, TOGGLE, topic.id, page),
                ),
            )
            for topic in shown
        ]
        nav = nav_row(self.signer, chat_id, "topics", Page("", page, pages), t)
        return (*rows, nav) if nav else tuple(rows)

    async def start(self, cmd: Command, conv: Conversation) -> None:
        """Welcome the chat and offer the topics as buttons."""
        t = self.texts_for(cmd)
        text = "\n\n".join(
            [
                t._(
                    "<b>newsbot</b> watches news feeds and tells this chat within minutes "
                    "when an article matches a topic it follows, in any language."
                ),
                t._("Tap a topic to follow it, or send /subscribe &lt;topic&gt;."),
                t._("/help lists every command."),
            ]
        )
        await conv.reply(text, self.keyboard(cmd.chat_id, 1, t))

    async def help(self, cmd: Command, conv: Conversation) -> None:
        """List the commands (the admin commands too, for an admin)."""
        t = self.texts_for(cmd)
        lines = [f"/{name} – {esc(t.plain(text))}" for name, text in self.menu]
        if cmd.user_id in self.admins and self.admin_menu:
            lines += ["", "<b>" + t._("Admin commands") + "</b>"]
            lines += [f"/{name} – {esc(t.plain(text))}" for name, text in self.admin_menu]
        await conv.reply("\n".join(lines))

    async def topics_page(self, cmd: Command, page: int) -> tuple[str, Keyboard]:
        """One page of /topics: each topic and what it covers, with toggle buttons."""
        t = self.texts_for(cmd)
        blocks = [
            f"<b>{esc(topic.name)}</b> (<code>{topic.id}</code>)\n"
            f"{esc(clip(topic.description, DESCRIPTION_CHARS))}"
            for topic in self.topics()
        ]
        shown = page_of(blocks, page, most=TOPICS_PER_PAGE)
        text = titled("<b>" + t._("Topics") + "</b>", shown, t)
        return text, self.keyboard(cmd.chat_id, shown.number, t)

    async def list_topics(self, cmd: Command, conv: Conversation) -> None:
        """Describe each topic, a page at a time, with toggle buttons."""
        text, keyboard = await self.topics_page(cmd, 1)
        await conv.reply(text, keyboard)

    async def turn_page(self, cmd: Command, conv: Conversation) -> None:
        """‹ or ›: redraw the list's page in place."""
        name, page = (*cmd.args, "", "")[:2]
        lister = self.lists.get(name)
        if lister is None or not page.isdigit():
            await conv.answer_callback(expired(self.texts_for(cmd)))
            return
        text, keyboard = await lister(cmd, int(page))
        await conv.answer_callback()
        await conv.edit(text, keyboard)

    async def subscribe(self, cmd: Command, conv: Conversation) -> None:
        """Follow one or more topics."""
        await self._change(cmd, conv, follow=True)

    async def unsubscribe(self, cmd: Command, conv: Conversation) -> None:
        """Stop following one or more topics (or all of them)."""
        await self._change(cmd, conv, follow=False)

    async def _change(self, cmd: Command, conv: Conversation, *, follow: bool) -> None:
        t = self.texts_for(cmd)
        if not cmd.args:
            usage = (
                t._("Usage: /subscribe &lt;topic&gt; [&lt;topic&gt; …]")
                if follow
                else t._("Usage: /unsubscribe &lt;topic&gt; … or /unsubscribe all")
            )
            await conv.reply(usage, self.keyboard(cmd.chat_id, 1, t))
            return
        if not follow and [a.casefold() for a in cmd.args] == ["all"]:
            mine = [self.finder.by_id(i) for i in self.store.subs.topics_of(cmd.chat_id)]
            found, unknown = [f for f in mine if f is not None], []
            if not found:
                await conv.reply(t._("Topics: none yet (/topics)"))
                return
        else:
            found, unknown = self.finder.resolve(cmd.args)
        lines = [self.unknown_topic(name, t) for name in unknown]
        if found and await may_change(cmd, conv, t):
            lines += [self._apply(cmd, topic, follow, t) for topic in found]
        elif found:
            return
        await conv.reply("\n".join(lines))

    def _apply(self, cmd: Command, topic: Topic, follow: bool, t: Texts) -> str:
        name = esc(topic.name)
        if follow:
            lang = self.language_of(cmd)
            if self.store.subs.subscribe(cmd.chat_id, topic.id, language=lang):
                return t._("Following <b>{topic}</b> now.", topic=name)
            return t._("Already following <b>{topic}</b>.", topic=name)
        if self.store.subs.unsubscribe(cmd.chat_id, topic.id):
            return t._("No longer following <b>{topic}</b>.", topic=name)
        return t._("This chat does not follow <b>{topic}</b>.", topic=name)

    async def toggle(self, cmd: Command, conv: Conversation) -> None:
        """A topic button: flip the subscription and redraw the buttons."""
        t = self.texts_for(cmd)
        topic_id, page = (*cmd.args, "", "")[:2]
        topic = self.finder.by_id(topic_id)
        if topic is None:
            await conv.answer_callback(t.plain("That topic no longer exists."))
            return
        if not await may_change(cmd, conv, t):
            return
        if self.store.subs.unsubscribe(cmd.chat_id, topic.id):
            notice = t.plain("No longer following {topic}.", topic=topic.name)
        else:
            self.store.subs.subscribe(cmd.chat_id, topic.id, language=t.lang)
            notice = t.plain("Following {topic} now.", topic=topic.name)
        await conv.answer_callback(notice)
        await conv.edit_buttons(self.keyboard(cmd.chat_id, int(page) if page.isdigit() else 1, t))

    def _language_buttons(self, chat_id: int) -> Keyboard:
        return (
            tuple(
                Button(name, data=self.signer.sign(chat_id, LANGUAGE, code))
                for code, name in LANGUAGES.items()
            ),
        )

    async def language(self, cmd: Command, conv: Conversation) -> None:
        """Show or choose the language I speak in this chat."""
        t = self.texts_for(cmd)
        if not cmd.args:
            text = t._("I speak {language} here. Choose another:", language=LANGUAGES[t.lang])
            await conv.reply(text, self._language_buttons(cmd.chat_id))
            return
        wanted = " ".join(cmd.args).casefold()
        code = next((c for c, n in LANGUAGES.items() if wanted in (c, n.casefold())), None)
        if code is None:
            names = ", ".join(f"{c} ({n})" for c, n in LANGUAGES.items())
            await conv.reply(t._("Usage: /language &lt;code&gt;, one of: {names}", names=names))
            return
        if await may_change(cmd, conv, t):
            self.store.subs.set_language(cmd.chat_id, code)
            # Translators: said in your language, naming it ("Ab jetzt spreche ich hier Deutsch.").
            await conv.reply(texts(code)._("From now on I speak English here."))

    async def choose_language(self, cmd: Command, conv: Conversation) -> None:
        """A language button."""
        code = cmd.args[0] if cmd.args else ""
        t = self.texts_for(cmd)
        if code not in LANGUAGES:
            await conv.answer_callback(expired(t))
            return
        if await may_change(cmd, conv, t):
            self.store.subs.set_language(cmd.chat_id, code)
            done = texts(code)
            await conv.answer_callback()
            await conv.edit(done._("From now on I speak English here."))

    def commands(self) -> dict[str, Handler]:
        """The ``/name`` commands this class answers."""
        return {
            "start": self.start,
            "help": self.help,
            "topics": self.list_topics,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "language": self.language,
        }
