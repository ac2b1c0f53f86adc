"""Handlers are plain newsbot code: driven here with a recording Conversation, no PTB."""

from __future__ import annotations

from pathlib import Path

import pytest

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

    def __init__(self, *, group_admin: bool = False) -> None:
        self.replies: list[tuple[str, Keyboard]] = []
        self.notices: list[tuple[str | None, bool]] = []
        self.edits: list[Keyboard] = []
        self.group_admin = group_admin

    async def reply(self, text: str, buttons: Keyboard = ()) -> None:
        self.replies.append((text, buttons))

    async def answer_callback(self, notice: str | None = None, *, alert: bool = False) -> None:
        self.notices.append((notice, alert))

    async def edit_buttons(self, buttons: Keyboard) -> None:
        self.edits.append(buttons)

    async def is_group_admin(self) -> bool:
        return self.group_admin


def flat(buttons: Keyboard) -> list[Button]:
    return [b for row in buttons for b in row]


@pytest.fixture
def ui(tmp_path: Path) -> ChatUI:
    return ChatUI(
        Store.open(f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        LiveRules(ROOT / "config" / "rules.yaml"),
    )


async def test_commands_and_buttons_on_plain_values(ui: ChatUI) -> None:
    conv = Recorded()
    await ui.start(Command(5, 5, "private"), conv)
    assert Button("➕ CSTO", data="toggle:csto") in flat(conv.replies[-1][1])
    await ui.toggle(Command(5, 5, "private", data="toggle:csto"), conv)
    assert ui.store.subs.topics_of(5) == ["csto"]
    assert conv.notices == [(None, False)]
    assert Button("✅ CSTO", data="toggle:csto") in flat(conv.edits[-1])
    await ui.toggle(Command(5, 5, "private", data="toggle:no_such_topic"), conv)
    assert conv.notices[-1] == ("That topic no longer exists.", False)
    await ui.subscribe(Command(5, 5, "private", args=("tokayev",)), conv)
    assert conv.replies[-1] == ("Subscribed to <b>Tokayev</b>.", ())


async def test_a_group_member_who_is_not_an_admin_is_refused(ui: ChatUI) -> None:
    member = Recorded(group_admin=False)
    await ui.toggle(Command(-100, 9, "supergroup", data="toggle:csto"), member)
    assert member.notices == [("Only this group's admins can change its subscriptions.", True)]
    await PrefsUI(ui).pause(Command(-100, 9, "supergroup"), member)
    assert member.replies == [("Only this group's admins can change its subscriptions.", ())]
    assert ui.store.subs.topics_of(-100) == [] and member.edits == []
    admin = Recorded(group_admin=True)
    await ui.toggle(Command(-100, 9, "supergroup", data="toggle:csto"), admin)
    assert ui.store.subs.topics_of(-100) == ["csto"]


def test_handlers_and_delivery_never_load_python_telegram_bot() -> None:
    code = (
        "import bot.telegram.commands, bot.telegram.prefs, bot.telegram.admin\n"
        "import bot.delivery.drain, bot.delivery.senders, bot.delivery.digest"
    )
    assert loaded(code, "telegram") == []
