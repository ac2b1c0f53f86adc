"""Every chat command, through the real PTB client and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.clock import utcnow
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers.chat import buttons, enqueue, press, say
from tests.helpers.harness import Harness, rss

USER = 500
GROUP = -100500

START_EN = (
    "<b>newsbot</b> watches news feeds and tells this chat within minutes when an article "
    "matches a topic it follows, in any language.\n\n"
    "Tap a topic to follow it, or send /subscribe &lt;topic&gt;.\n\n"
    "/help lists every command."
)
START_DE = (
    "<b>newsbot</b> beobachtet Nachrichtenfeeds und meldet diesem Chat binnen Minuten, "
    "wenn ein Artikel zu einem Thema passt, dem er folgt – in jeder Sprache.\n\n"
    "Tippen Sie auf ein Thema, um ihm zu folgen, oder senden Sie /subscribe &lt;Thema&gt;.\n\n"
    "/help zeigt alle Befehle."
)


@pytest.fixture
def chat(harness: Harness) -> Harness:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    return harness


async def test_start_help_topics_and_buttons(chat: Harness) -> None:
    api: FakeBotAPI = chat.telegram
    async with chat.running() as service:
        start = await say(chat, USER, "/start")
        assert start["text"] == START_EN and start["parse_mode"] == "HTML"
        labels = buttons(start)
        assert labels["➕ Kazakhstan"].startswith("tg:kazakhstan:1:"), "signed, with its page"
        help_text = (await say(chat, USER, "/help"))["text"]
        for line in (
            "/subscribe – Follow topics: /subscribe &lt;topic&gt; [&lt;topic&gt; …]",
            "/mysubs – This chat's topics and settings",
            "/timezone – This chat's time zone: /timezone Europe/Berlin",
            "/quiet – Quiet hours, held for a digest: /quiet 22:00-07:00",
        ):
            assert line in help_text.split("\n")
        assert "/stats" not in help_text, "admin commands are for admins"
        topics = await say(chat, USER, "/topics")
        assert topics["text"].startswith(
            "<b>Topics</b>\n\n<b>Kazakhstan</b> (<code>kazakhstan</code>)"
        )
        toggle = buttons(topics)["➕ CSTO"]
        answer = await press(chat, USER, toggle, topics["message_id"], edits=1)
        assert answer["text"] == "Following CSTO now."
        assert service.store.subs.topics_of(USER) == ["csto"]
        assert "✅ CSTO" in buttons(api.edits[-1])
        answer = await press(chat, USER, toggle, topics["message_id"], edits=1)
        assert answer["text"] == "No longer following CSTO."
        assert service.store.subs.topics_of(USER) == []
    menu = [c["command"] for c in api.commands_for()]
    assert menu[:6] == ["start", "help", "topics", "subscribe", "unsubscribe", "mysubs"]
    assert {"pause", "resume", "mode", "mute", "timezone", "quiet", "language"} <= set(menu)
    german = {c["command"]: c["description"] for c in api.commands_for(language="de")}
    assert german["mysubs"] == "Themen und Einstellungen dieses Chats"
    assert api.description("de").startswith("Ich beobachte Nachrichtenfeeds")
    assert api.description("ru").startswith("Я слежу за новостными лентами")
    assert api.description("kk").startswith("Мен жаңалық арналарын бақылаймын")
    assert api.description("pt").startswith("I watch news feeds"), "the default is English"
    assert len(api.description("en", short=True)) <= 120


async def test_start_in_german_for_a_german_app(chat: Harness) -> None:
    async with chat.running():
        start = await say(chat, USER, "/start", language_code="de-AT")
        assert start["text"] == START_DE
        assert "➕ Kazakhstan" in buttons(start)


async def test_subscribe_several_by_id_name_or_term_and_did_you_mean(chat: Harness) -> None:
    async with chat.running() as service:
        usage = (await say(chat, USER, "/subscribe"))["text"]
        assert usage == "Usage: /subscribe &lt;topic&gt; [&lt;topic&gt; …]"
        wrong = (await say(chat, USER, "/subscribe kazkhstan"))["text"]
        assert wrong == "There is no topic “kazkhstan”. Did you mean <b>Kazakhstan</b>?"
        several = (await say(chat, USER, "/subscribe CSTO tokayev"))["text"]
        assert several == "Following <b>CSTO</b> now.\nFollowing <b>Tokayev</b> now."
        by_term = (await say(chat, USER, "/subscribe Kasachstan"))["text"]
        assert by_term == "Following <b>Kazakhstan</b> now.", "a German word the topic watches"
        again = (await say(chat, USER, "/subscribe ОДКБ"))["text"]
        assert again == "Already following <b>CSTO</b>.", "Russian, in any case"
        long_name = (await say(chat, USER, "/subscribe unrest in kazakhstan, nonsense"))["text"]
        assert long_name.split("\n") == [
            "There is no topic “nonsense”.",
            "Following <b>Unrest in Kazakhstan</b> now.",
        ]
        assert service.store.subs.topics_of(USER) == [
            "csto",
            "kazakhstan",
            "kazakhstan_unrest",
            "tokayev",
        ]
        gone = (await say(chat, USER, "/unsubscribe csto Tokajew"))["text"]
        assert gone == "No longer following <b>CSTO</b>.\nNo longer following <b>Tokayev</b>."
        assert (await say(chat, USER, "/unsubscribe csto"))["text"] == (
            "This chat does not follow <b>CSTO</b>."
        )
        left = (await say(chat, USER, "/unsubscribe all"))["text"]
        assert left.split("\n") == [
            "No longer following <b>Kazakhstan</b>.",
            "No longer following <b>Unrest in Kazakhstan</b>.",
        ]
        assert service.store.subs.topics_of(USER) == []
        assert (await say(chat, USER, "/unsubscribe all"))["text"] == "Topics: none yet (/topics)"
        echo = (await say(chat, USER, "/subscribe " + "x" * 5000))["text"]
        assert echo.startswith("There is no topic “xxx") and len(echo) < 200


async def test_mysubs_pause_resume_mute_mode_timezone_and_quiet(chat: Harness) -> None:
    async with chat.running() as service:
        subs = service.store.subs
        await say(chat, USER, "/subscribe kazakhstan")
        zone = (await say(chat, USER, "/timezone europe/berlin"))["text"]
        assert zone.startswith("Time zone: Europe/Berlin. It is ") and zone.endswith(" there now.")
        assert (await say(chat, USER, "/timezone Almaty"))["text"].startswith(
            "“Almaty” is not a time zone I know. Did you mean Asia/Almaty?"
        )
        assert "Paused" in (await say(chat, USER, "/pause"))["text"]
        assert subs.subscribers(["kazakhstan"]) == {}
        resumed = (await say(chat, USER, "/resume"))["text"]
        assert resumed == "Resumed: alerts are on again. No alert was skipped while paused."

        assert (await say(chat, USER, "/mute tokayev 2h"))["text"] == (
            "This chat does not follow <b>Tokayev</b>, so there is nothing to mute."
        )
        bad = (await say(chat, USER, "/mute kazakhstan soon"))["text"]
        assert bad.startswith("“soon” is not a duration.\nUsage: /mute")
        muted = (await say(chat, USER, "/mute Kasachstan 2h"))["text"]
        assert muted.startswith("<b>Kazakhstan</b> muted until ") and muted.endswith(" CET.")
        until = subs.settings_of(USER).muted["kazakhstan"]
        assert timedelta(minutes=119) < until - utcnow() <= timedelta(hours=2)

        assert "Usage: /mode" in (await say(chat, USER, "/mode daily 25:00"))["text"]
        daily = (await say(chat, USER, "/mode daily 8:30"))["text"]
        assert daily == (
            "Alerts arrive as one digest a day at 08:30. (Time zone: Europe/Berlin; "
            "/timezone changes it.)"
        )
        quiet = (await say(chat, USER, "/quiet 22:00-07:00"))["text"]
        assert quiet.startswith("Quiet hours: 22:00–07:00 (Europe/Berlin).")
        assert subs.settings_of(USER).quiet == ("22:00", "07:00")
        await say(chat, USER, "/pause")
        state = (await say(chat, USER, "/mysubs"))["text"].split("\n")
        assert state[0] == "Topics: Kazakhstan"
        assert state[1] == "Alerts arrive as one digest a day at 08:30."
        assert state[2].startswith("Time zone: Europe/Berlin (now ")
        assert state[3:5] == ["Quiet hours: 22:00–07:00", "Language: English"]
        assert state[5] == "⏸ Paused: no alerts until /resume."
        assert state[6].startswith("🔕 Kazakhstan muted until ") and state[6].endswith(" CET")
        assert (await say(chat, USER, "/quiet off"))["text"].startswith("Quiet hours lifted")
        assert "unmuted" in (await say(chat, USER, "/mute kazakhstan off"))["text"]
        assert subs.settings_of(USER).muted == {}


async def test_resume_counts_the_alerts_skipped_while_paused(chat: Harness) -> None:
    async with chat.running() as service:
        await say(chat, USER, "/subscribe kazakhstan")
        await say(chat, USER, "/pause")
        enqueue(service.store, [], 3)  # three Kazakhstan articles while paused
        resumed = (await say(chat, USER, "/resume"))["text"]
        assert resumed == "Resumed: alerts are on again. 3 alerts were skipped while paused."
        assert service.store.outbox.counts() == {}, "nothing was queued for the paused chat"


async def test_language_by_command_and_by_button(chat: Harness) -> None:
    async with chat.running() as service:
        choose = await say(chat, USER, "/language")
        assert choose["text"] == "I speak English here. Choose another:"
        assert list(buttons(choose)) == ["English", "Deutsch", "Русский", "Қазақша"]
        assert (await say(chat, USER, "/language ru"))["text"] == "Теперь я говорю здесь по-русски."
        assert (await say(chat, USER, "/pause"))["text"] == "Пауза: оповещений не будет до /resume."
        await press(chat, USER, buttons(choose)["Қазақша"], choose["message_id"], edits=1)
        assert chat.telegram.edits[-1]["text"] == "Енді мен мұнда қазақша сөйлеймін."
        assert service.store.subs.settings_of(USER).language == "kk"
        assert (await say(chat, USER, "/language Deutsch"))["text"] == (
            "Ab jetzt spreche ich hier Deutsch."
        )


async def test_only_group_admins_change_a_group(chat: Harness) -> None:
    api = chat.telegram
    api.set_chat_admins(GROUP, [901])
    async with chat.running() as service:
        kw = {"chat_type": "supergroup"}
        refused = await say(chat, GROUP, "/subscribe csto", user_id=902, **kw)
        assert refused["text"] == "Only this group's admins can change its subscriptions."
        assert service.store.subs.topics_of(GROUP) == []
        ok = await say(chat, GROUP, "/subscribe csto", user_id=901, **kw)
        assert ok["text"] == "Following <b>CSTO</b> now."
        mysubs = await say(chat, GROUP, "/mysubs", user_id=902, **kw)
        assert mysubs["text"].startswith("Topics: CSTO\n")
        api.fail("getChatMember", 502, "Bad Gateway", times=1)
        down = await say(chat, GROUP, "/pause", user_id=901, **kw)
        assert down["text"] == (
            "I could not check whether you administer this group. Please try again."
        )
        assert not service.store.subs.settings_of(GROUP).paused


async def test_an_edited_message_never_runs_a_command_again(chat: Harness) -> None:
    api = chat.telegram
    async with chat.running() as service:
        first = await say(chat, USER, "/subscribe csto")
        assert first["text"] == "Following <b>CSTO</b> now."
        typed = [m for m in api._user_messages if m[0] == USER][-1][1]
        before = len(api.sent)
        edit = api.push_edit(USER, typed, "/unsubscribe csto")
        await chat.wait_sent(lambda a: a.updates_consumed >= edit)
        await say(chat, USER, "/mysubs")  # a round trip: the edit was handled before it
        assert service.store.subs.topics_of(USER) == ["csto"]
        assert len(api.sent) == before + 1, "only /mysubs was answered"
