"""Never silent: an unknown command, plain text, and being added to (or removed from) a group."""

from __future__ import annotations

import pytest

from tests.helpers.chat import buttons, press, say
from tests.helpers.harness import Harness, rss

USER = 530
GROUP = -100530
GREETING_EN = (
    "Hello! I am <b>newsbot</b>: I post an alert here when a news article matches a topic "
    "this group follows.\n\nGroup admins: tap a topic to follow it. /help lists every command."
)


@pytest.fixture
def chat(harness: Harness) -> Harness:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    return harness


async def test_an_unknown_command_gets_a_pointer_to_help(chat: Harness) -> None:
    api = chat.telegram
    async with chat.running():
        assert (await say(chat, USER, "/frobnicate now"))["text"] == (
            "I don't know /frobnicate. /help lists what I can do."
        )
        assert (await say(chat, USER, "/frobnicate", language_code="ru"))["text"] == (
            "Я не знаю команды /frobnicate. /help покажет, что я умею."
        )
        kw = {"chat_type": "supergroup", "user_id": USER}
        ours = await say(chat, GROUP, "/frobnicate@newsbot_test_bot", **kw)
        assert ours["text"] == "I don't know /frobnicate. /help lists what I can do."
        before = len(api.sent)
        for text in ("/frobnicate@other_bot", "/frobnicate", "just chatting in the group"):
            api.push_message(GROUP, text, **kw)
        await say(chat, USER, "/help")  # a round trip: the group messages were handled first
        assert len(api.sent) == before + 1, "nothing addressed to another bot or to no one"


async def test_plain_text_gets_a_hint_or_the_topic_it_names(chat: Harness) -> None:
    async with chat.running() as service:
        hint = await say(chat, USER, "hello there, what can you do?")
        assert hint["text"] == (
            "I answer commands only. Send /topics to choose what to follow, or /help for "
            "every command."
        )
        named = await say(chat, USER, "Токаев")
        assert named["text"] == "Do you mean the topic <b>Tokayev</b>?"
        follow = buttons(named)["➕ Follow Tokayev"]
        answer = await press(chat, USER, follow, named["message_id"], edits=1)
        assert answer["text"] == "Following Tokayev now."
        assert service.store.subs.topics_of(USER) == ["tokayev"]


async def test_a_group_is_greeted_with_topic_buttons_when_the_bot_is_added(chat: Harness) -> None:
    api = chat.telegram
    api.set_chat_admins(GROUP, [USER])
    async with chat.running() as service:
        api.push_member_change(GROUP, old="left", new="member", user_id=USER)
        await chat.wait_sent(lambda a: any(m["chat_id"] == GROUP for m in a.sent))
        [hello] = [m for m in api.sent if m["chat_id"] == GROUP]
        assert hello["text"] == GREETING_EN
        toggle = buttons(hello)["➕ Kazakhstan"]
        await press(chat, GROUP, toggle, hello["message_id"], user_id=USER, edits=1)
        assert service.store.subs.topics_of(GROUP) == ["kazakhstan"]
        assert service.store.subs.subscribers(["kazakhstan"]) == {GROUP: {"kazakhstan"}}

        api.push_member_change(GROUP, old="member", new="left", user_id=USER)
        await say(chat, USER, "/help")  # a round trip
        assert service.store.subs.subscribers(["kazakhstan"]) == {}, "removed: no more alerts"

        other = GROUP - 1
        api.push_member_change(other, old="left", new="administrator", language_code="de")
        await chat.wait_sent(lambda a: any(m["chat_id"] == other for m in a.sent))
        [hallo] = [m for m in api.sent if m["chat_id"] == other]
        assert hallo["text"].startswith("Hallo! Ich bin <b>newsbot</b>")
        assert service.store.subs.settings_of(other).language == "de"
