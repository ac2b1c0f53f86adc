"""Self-tests for the loopback fakes, so other tests can trust what they report.

The Telegram fake is exercised with the real python-telegram-bot client to pin down that
PTB's encoding is decoded correctly and every error lands on the PTB exception we expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import threading
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from telegram import error as tg_error
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.telegram_html import HTMLParseError, html_to_text
from tests.fakes.telegram_wire import parse_params
from tests.fakes.web import LoopbackSite, RequestInfo

LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.fixture
def api(telegram: FakeBotAPI) -> FakeBotAPI:
    return telegram


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(api.token, base_url=api.base_url) as client:
        yield client


# -- LoopbackSite ----------------------------------------------------------------------


def test_static_route_head_404_and_hits(site: LoopbackSite) -> None:
    site.route("/feed.xml", "<rss/>", headers={"X-Test": "1"})
    with httpx.Client() as client:
        got = client.get(site.url("/feed.xml?utm=1"))
        head = client.head(site.url("/feed.xml"))
        missing = client.get(site.url("/nope"))
    assert (got.status_code, got.text) == (200, "<rss/>")
    assert got.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert got.headers["x-test"] == "1"
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "6")
    assert missing.status_code == 404
    assert site.hits("/feed.xml") == 2
    assert site.hits("/feed.xml?utm=1") == 1
    assert site.requests[0][1]["user-agent"].startswith("python-httpx")


def test_route_changes_apply_to_next_request(site: LoopbackSite) -> None:
    site.route("/a", b"one")
    with httpx.Client() as client:
        first = client.get(site.url("/a")).text
        site.route("/a", b"two", status=503)
        second = client.get(site.url("/a"))
    assert (first, second.status_code, second.text) == ("one", 503, "two")


def test_route_fn_sees_request(site: LoopbackSite) -> None:
    def echo(info: RequestInfo) -> tuple[int, dict[str, str], str]:
        return 201, {"Content-Type": "text/plain"}, f"{info.method} {info.headers['x-who']}"

    site.route_fn("/echo", echo)
    got = httpx.get(site.url("/echo"), headers={"X-Who": "me"})
    assert (got.status_code, got.text) == (201, "GET me")


def test_etag_conditional_get(site: LoopbackSite) -> None:
    site.route("/f", "<rss/>", etag='"v1"')
    with httpx.Client() as client:
        first = client.get(site.url("/f"))
        cached = client.get(site.url("/f"), headers={"If-None-Match": first.headers["etag"]})
        stale = client.get(site.url("/f"), headers={"If-None-Match": '"v0"'})
    assert first.headers["etag"] == '"v1"'
    assert (cached.status_code, cached.content) == (304, b"")
    assert (stale.status_code, stale.text) == (200, "<rss/>")


def test_last_modified_conditional_get(site: LoopbackSite) -> None:
    site.route("/f", "<rss/>", last_modified=LAST_MODIFIED)
    later = "Thu, 22 Oct 2015 07:28:00 GMT"
    earlier = "Tue, 20 Oct 2015 07:28:00 GMT"
    with httpx.Client() as client:
        first = client.get(site.url("/f"))
        same = client.get(site.url("/f"), headers={"If-Modified-Since": LAST_MODIFIED})
        newer = client.get(site.url("/f"), headers={"If-Modified-Since": later})
        older = client.get(site.url("/f"), headers={"If-Modified-Since": earlier})
    assert first.headers["last-modified"] == LAST_MODIFIED
    assert [same.status_code, newer.status_code, older.status_code] == [304, 304, 200]


def test_redirect(site: LoopbackSite) -> None:
    site.route("/new", "<rss/>")
    site.redirect("/old", "/new")
    got = httpx.get(site.url("/old"), follow_redirects=True)
    assert (got.status_code, got.text) == (200, "<rss/>")
    assert [r.status_code for r in got.history] == [301]
    assert site.hits("/old") == site.hits("/new") == 1


def test_hang_times_out_client_and_stop_is_fast() -> None:
    site = LoopbackSite().start()
    site.hang("/slow")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(site.url("/slow"), timeout=0.3)
    assert time.monotonic() - started < 2
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 1


def test_drip_sends_slowly_without_content_length(site: LoopbackSite) -> None:
    site.drip("/drip", chunk=b"ab", interval=0.05, total=9)
    started = time.monotonic()
    got = httpx.get(site.url("/drip"), timeout=2)
    assert got.content == b"ababababa"
    assert "content-length" not in got.headers
    assert time.monotonic() - started >= 0.15


def test_endless_drip_stops_with_server() -> None:
    site = LoopbackSite().start()
    site.drip("/drip", chunk=b"x", interval=0.01)
    with httpx.stream("GET", site.url("/drip"), timeout=2) as resp:
        received = 0
        for part in resp.iter_raw():
            received += len(part)
            if received >= 5:
                break
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 1


def test_big_streams_exact_size(site: LoopbackSite) -> None:
    site.big("/big", 3_000_001)
    with httpx.stream("GET", site.url("/big")) as resp:
        assert resp.headers["content-length"] == "3000001"
        assert sum(len(part) for part in resp.iter_raw()) == 3_000_001


def test_gzip_bomb_is_small_on_the_wire_and_inflates(site: LoopbackSite) -> None:
    size = 20 * 1024 * 1024
    site.gzip_bomb("/bomb", size)
    with httpx.stream("GET", site.url("/bomb")) as resp:
        assert resp.headers["content-encoding"] == "gzip"
        raw = b"".join(resp.iter_raw())
    assert len(raw) < size // 500
    inflater, inflated, pending = zlib.decompressobj(31), 0, raw
    while pending:
        inflated += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    assert inflated == size


def test_wait_for_wakes_on_request_and_reports_timeout(site: LoopbackSite) -> None:
    site.route("/x", b"x")
    worker = threading.Thread(target=httpx.get, args=(site.url("/x"),))
    worker.start()
    site.wait_for(lambda s: s.hits("/x") == 1, timeout=5)
    worker.join()
    with pytest.raises(AssertionError, match=r"condition not met.*'/x'"):
        site.wait_for(lambda s: s.hits("/y") > 0, timeout=0.1)


# -- Telegram HTML checker ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["<b>a", "<b><i>a</b></i>", "a < b", "a > b", "R&D", "<div>x</div>", "<span>x</span>"],
)
def test_html_checker_rejects(text: str) -> None:
    with pytest.raises(HTMLParseError):
        html_to_text(text)


def test_html_checker_visible_text() -> None:
    text = (
        '<b>B</b> <a href="https://x.test/?a=1&amp;b=2">link</a> &lt;&gt;&amp;&quot;&#33;'
        '<span class="tg-spoiler">s</span><pre><code class="language-py">c</code></pre>'
    )
    assert html_to_text(text) == 'B link <>&"!sc'


# -- FakeBotAPI with the real PTB client ----------------------------------------------


def test_raw_envelopes_and_json_body(api: FakeBotAPI) -> None:
    url = f"{api.base_url}{api.token}"
    with httpx.Client() as client:
        ok = client.post(f"{url}/sendMessage", json={"chat_id": 5, "text": "hi"})
        unknown = client.post(f"{url}/noSuchMethod")
        wrong = client.post(f"{api.base_url}1:bad/getMe")
    assert ok.status_code == 200
    assert ok.json()["ok"] is True
    assert ok.json()["result"]["chat"] == {"id": 5, "type": "private", "first_name": "User5"}
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    api.fail("getMe", 429, "Too Many Requests: retry after 7", retry_after=7)
    limited = httpx.post(f"{url}/getMe")
    assert limited.status_code == 429
    assert limited.json()["parameters"] == {"retry_after": 7}


def test_multipart_params_are_decoded() -> None:
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/",
        data={
            "chat_id": "-100",
            "reply_markup": '{"inline_keyboard": []}',
            "protect_content": "true",
        },
        files={"document": ("a.txt", b"payload")},
    )
    params = parse_params(request.headers["content-type"], request.read(), "")
    assert params == {
        "chat_id": -100,
        "reply_markup": {"inline_keyboard": []},
        "protect_content": True,
        "document": b"payload",
    }


async def test_get_me(bot: telegram.Bot, api: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "newsbot_test_bot", True)
    assert api.requests[0][0] == "getMe"


async def test_send_message_html_is_recorded_with_types_restored(
    bot: telegram.Bot, api: FakeBotAPI
) -> None:
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Mute", callback_data="mute:1")]]
    )
    message = await bot.send_message(
        -100500,
        "<b>Alert</b> &amp; more",
        parse_mode="HTML",
        reply_markup=keyboard,
        link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert (message.message_id, message.text, message.chat.type) == (
        1,
        "Alert & more",
        "supergroup",
    )
    [sent] = api.sent
    assert sent["chat_id"] == -100500
    assert (sent["text"], sent["parse_mode"]) == ("<b>Alert</b> &amp; more", "HTML")
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "mute:1"
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert sent["disable_notification"] is True


async def test_length_limit_counts_visible_text(bot: telegram.Bot, api: FakeBotAPI) -> None:
    visible_4096 = "<b>" + "a" * 4000 + "</b>" + "&amp;" * 96
    await bot.send_message(1, visible_4096, parse_mode="HTML")
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "<b></b>", parse_mode="HTML")
    assert len(api.sent) == 1


@pytest.mark.parametrize("text", ["<b>open", "1 < 2", "<b><i>x</b></i>"])
async def test_invalid_html_is_bad_request(bot: telegram.Bot, api: FakeBotAPI, text: str) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, text, parse_mode="HTML")
    assert api.sent == []


async def test_retry_after(bot: telegram.Bot, api: FakeBotAPI, monkeypatch) -> None:
    api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3, times=2)
    with pytest.warns(PTBDeprecationWarning):  # int for now, unless PTB_TIMEDELTA is set
        with pytest.raises(tg_error.RetryAfter) as caught:
            await bot.send_message(1, "hi")
        assert caught.value.retry_after == 3
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    with pytest.raises(tg_error.RetryAfter) as caught:
        await bot.send_message(1, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(1, "hi")
    assert [m["text"] for m in api.sent] == ["hi"]
    assert len(api.calls("sendMessage")) == 3


async def test_blocked_down_and_wrong_token(bot: telegram.Bot, api: FakeBotAPI) -> None:
    api.set_blocked(7)
    with pytest.raises(tg_error.Forbidden, match="bot was blocked by the user"):
        await bot.send_message(7, "hi")
    api.set_down(True)
    with pytest.raises(tg_error.NetworkError, match="Bad Gateway"):
        await bot.get_me()
    api.set_down(False)
    with pytest.raises(tg_error.InvalidToken):
        async with telegram.Bot("999:wrong", base_url=api.base_url):
            pass
    with pytest.raises(tg_error.EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_edit_and_migration(bot: telegram.Bot, api: FakeBotAPI) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=99)
    message = await bot.send_message(1, "old")
    edited = await message.edit_text("<i>new</i>", parse_mode="HTML")
    assert (edited.text, api.edits[0]["text"], api.edits[0]["message_id"]) == (
        "new",
        "<i>new</i>",
        1,
    )
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is not modified"):
        await message.edit_text("<i>new</i>", parse_mode="HTML")
    api.migrate_chat(-5, -1005)
    with pytest.raises(tg_error.ChatMigrated) as caught:
        await bot.send_message(-5, "hi")
    assert caught.value.new_chat_id == -1005


async def test_commands_admins_and_callbacks(bot: telegram.Bot, api: FakeBotAPI) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c["command"] for c in api.commands or []] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    api.set_chat_admins(-100, [5], creator=6)
    statuses = [(await bot.get_chat_member(-100, uid)).status for uid in (5, 6, 7)]
    assert statuses == ["administrator", "creator", "member"]
    sent = await bot.send_message(3, "pick")
    update_id = api.push_callback(3, "mute:1", message_id=sent.message_id)
    [update] = await bot.get_updates(timeout=1)
    assert update.update_id == update_id
    assert (update.callback_query.data, update.callback_query.message.text) == ("mute:1", "pick")
    assert await update.callback_query.answer()
    with pytest.raises(tg_error.BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("nope")


async def test_long_poll_returns_as_soon_as_message_pushed(
    bot: telegram.Bot, api: FakeBotAPI
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for_async(lambda a: len(a.calls("getUpdates")) == 1, timeout=3)
    update_id = api.push_message(42, "/status now")
    [update] = await asyncio.wait_for(poll, timeout=4)
    assert time.monotonic() - started < 3
    assert update.message.text == "/status now"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/status")
    await bot.get_updates(offset=update_id + 1, timeout=0)
    assert (api.updates_consumed, api.pending_updates) == (update_id, 0)


async def test_stop_wakes_a_waiting_long_poll(api: FakeBotAPI) -> None:
    async with telegram.Bot(api.token, base_url=api.base_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await api.wait_for_async(lambda a: bool(a.calls("getUpdates")), timeout=3)
        started = time.monotonic()
        api.stop()
        assert time.monotonic() - started < 1
        with contextlib.suppress(tg_error.NetworkError):
            assert await asyncio.wait_for(poll, timeout=3) == ()


async def test_application_command_round_trip(api: FakeBotAPI) -> None:
    async def status(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html("<b>ok</b>")

    app = Application.builder().token(api.token).base_url(api.base_url).build()
    app.add_handler(CommandHandler("status", status))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        api.push_message(-100777, "/status@newsbot_test_bot", chat_type="supergroup")
        await api.wait_for_async(lambda a: len(a.sent) == 1, timeout=5)
        await app.updater.stop()
        await app.stop()
    assert (api.sent[0]["chat_id"], api.sent[0]["text"]) == (-100777, "<b>ok</b>")


async def test_profile_markup_actions_and_new_updates(bot: telegram.Bot, api: FakeBotAPI) -> None:
    assert await bot.set_my_description("Hallo", language_code="de")
    assert await bot.set_my_description("Hello")
    assert await bot.set_my_short_description("Short")
    assert (await bot.get_my_description(language_code="de")).description == "Hallo"
    assert (await bot.get_my_description(language_code="fr")).description == "Hello"
    assert (api.description("ru"), api.description(short=True)) == ("Hello", "Short")
    with pytest.raises(tg_error.BadRequest, match=r"(?i)DESCRIPTION_INVALID"):
        await bot.set_my_short_description("x" * 121)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bad-Name", "x")])
    assert await bot.send_chat_action(5, "typing")
    with pytest.raises(tg_error.BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(5, "dancing")
    long_data = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("x", callback_data="d" * 65)]]
    )
    with pytest.raises(tg_error.BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(5, "hi", reply_markup=long_data)
    bad_url = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("x", url="ftp://x")]])
    with pytest.raises(tg_error.BadRequest, match=r"(?i)unsupported url protocol"):
        await bot.send_message(5, "hi", reply_markup=bad_url)
    first = api.push_message(9, "/start", language_code="de")
    typed = max(k[1] for k in api._user_messages if k[0] == 9)
    api.push_edit(9, typed, "/help")
    api.push_member_change(-100, old="left", new="administrator", language_code="kk")
    updates = await bot.get_updates(offset=first, timeout=1)
    assert updates[0].message.from_user.language_code == "de"
    assert (updates[1].edited_message.text, updates[1].edited_message.message_id) == (
        "/help",
        typed,
    )
    assert updates[1].message is None
    change = updates[2].my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == (
        "left",
        "administrator",
    )
    assert change.from_user.language_code == "kk" and change.chat.id == -100
    ok = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("ok", callback_data="a")]])
    sent = await bot.send_message(9, "pick", reply_markup=ok)
    api.push_callback(9, "a", message_id=sent.message_id)
    [press] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert await press.callback_query.answer("done")
    assert api.callback_answers[-1]["text"] == "done"
    with pytest.raises(tg_error.BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await press.callback_query.answer("x" * 201)
