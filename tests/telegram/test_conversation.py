"""Handlers are plain newsbot code: driven here with a recording Conversation, no PTB."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.callbacks import Signer
from bot.core.errors import SendUnavailable
from bot.core.message import Button, Keyboard
from bot.rules.live import LiveRules
from bot.store import Store
from bot.telegram.commands import ChatUI
from bot.telegram.conversation import Command
from bot.telegram.prefs import PrefsUI
from tests.helpers.harness import ROOT
from tests.helpers.process import loaded


class Recorded:
    """A Conversation that remembers what the handler said."""

    def __init__(self, *, group_admin: bool | None = False) -> None:
        self.replies: list[tuple[str, Keyboard]] = []
        self.notices: list[tuple[str | None, bool]] = []
        self.edits: list[tuple[str | None, Keyboard]] = []
        self.private: list[str] = []
        self.group_admin = group_admin  # None: Telegram does not answer

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        self.replies.append((text, buttons))

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        self.notices.append((notice, alert))

    async def edit_buttons(self, buttons: Keyboard) -> None:
        self.edits.append((None, buttons))

    async def edit(self, text: str, buttons: Keyboard = ()) -> None:
        self.edits.append((text, buttons))

    async def tell_privately(self, text: str, buttons: Keyboard = ()) -> bool:
        self.private.append(text)
        return True

    @contextlib.asynccontextmanager
    async def typing(self) -> AsyncIterator[None]:
        yield

    async def is_group_admin(self) -> bool:
        if self.group_admin is None:
            raise SendUnavailable("Bad Gateway")
        return self.group_admin


def flat(buttons: Keyboard) -> list[Button]:
    return [b for row in buttons for b in row]


@pytest.fixture
def ui(tmp_path: Path) -> ChatUI:
    return ChatUI(
        Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        LiveRules(ROOT / "config" / "rules.yaml"),
        Signer(b"k" * 32),
    )


async def test_commands_and_buttons_on_plain_values(ui: ChatUI) -> None:
    conv = Recorded()
    await ui.start(Command(5, 5, "private"), conv)
    csto = next(b for b in flat(conv.replies[-1][1]) if b.text == "➕ CSTO")
    assert ui.signer.open(5, csto.data).fields == ("csto", "1")
    await ui.presses(Command(5, 5, "private", data=csto.data), conv)
    assert ui.store.subs.topics_of(5) == ["csto"]
    assert conv.notices == [("Following CSTO now.", False)]
    assert "✅ CSTO" in [b.text for b in flat(conv.edits[-1][1])]
    forged = ui.signer.sign(5, "tg", "no_such_topic", 1)
    await ui.presses(Command(5, 5, "private", data=forged), conv)
    assert conv.notices[-1] == ("That topic no longer exists.", False)
    await ui.presses(Command(6, 6, "private", data=csto.data), conv)
    assert conv.notices[-1] == ("This button is not valid. Send /start for fresh ones.", False)
    await ui.subscribe(Command(5, 5, "private", args=("tokayev",)), conv)
    assert conv.replies[-1] == ("Following <b>Tokayev</b> now.", ())


async def test_a_group_member_who_is_not_an_admin_is_refused(ui: ChatUI) -> None:
    member = Recorded(group_admin=False)
    toggle = ui.signer.sign(-100, "tg", "csto", 1)
    await ui.presses(Command(-100, 9, "supergroup", data=toggle), member)
    assert member.notices == [("Only this group's admins can change its subscriptions.", True)]
    await PrefsUI(ui).pause(Command(-100, 9, "supergroup"), member)
    assert member.replies == [("Only this group's admins can change its subscriptions.", ())]
    assert ui.store.subs.topics_of(-100) == [] and member.edits == []
    down = Recorded(group_admin=None)
    await PrefsUI(ui).pause(Command(-100, 9, "supergroup"), down)
    assert down.replies == [
        ("I could not check whether you administer this group. Please try again.", ())
    ]
    admin = Recorded(group_admin=True)
    await ui.presses(Command(-100, 9, "supergroup", data=toggle), admin)
    assert ui.store.subs.topics_of(-100) == ["csto"]


def test_handlers_and_delivery_never_load_python_telegram_bot() -> None:
    code = (
        "import bot.telegram.commands, bot.telegram.prefs, bot.telegram.admin\n"
        "import bot.telegram.fallbacks, bot.telegram.alertpress, bot.telegram.presses\n"
        "import bot.delivery.drain, bot.delivery.senders, bot.delivery.digest\n"
        "import bot.delivery.buttons"
    )
    assert loaded(code, "telegram") == []
