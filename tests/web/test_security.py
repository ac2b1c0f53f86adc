"""The console's access model: one-time links from /console, sessions, CSRF, no secrets shown."""

from __future__ import annotations

import socket
from datetime import timedelta

import httpx
import pytest

from bot.core.errors import StartupError
from bot.web.auth import COOKIE
from bot.web.server import ConsoleServer
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.helpers.harness import Harness
from tests.web.console import ADMIN, USER, login_link, setup

PAGES = ["/", "/archive", "/feeds", "/topics", "/rules", "/subscribers", "/static/topics.js"]
POSTS = ["/feeds/add", "/feeds/edit", "/rules/try", "/rules/save", "/logout"]


async def test_no_page_without_a_session_and_a_forged_cookie_is_refused(harness: Harness) -> None:
    port = setup(harness)
    async with harness.running(), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
        for path in PAGES:
            answer = await web.get(path)
            assert answer.status_code == 401, path
            assert "/console" in answer.text
        for path in POSTS:
            assert (await web.post(path, data={"csrf": "x"})).status_code == 401, path
        web.cookies.set(COOKIE, "eyJ1Ijo3MDB9.forged.signature")
        assert (await web.get("/archive")).status_code == 401


async def test_a_link_works_once_and_a_non_admin_gets_none(harness: Harness) -> None:
    port = setup(harness)
    async with harness.running():
        refused = await login_link(harness, USER)
        assert refused is None
        assert harness.telegram.sent[-1]["text"] == (
            "Sorry, this command is for this bot's admins only."
        )
        link = await login_link(harness, ADMIN)
        assert link is not None and link.startswith(f"http://127.0.0.1:{port}/login?token=")
        async with httpx.AsyncClient() as web:
            first = await web.get(link)
            assert first.status_code == 303 and first.headers["location"] == "/archive"
            assert COOKIE in first.cookies
            assert "httponly" in first.headers["set-cookie"].lower()
            page = await web.get(f"http://127.0.0.1:{port}/archive")
            assert page.status_code == 200 and "Alerts archive" in page.text
        async with httpx.AsyncClient() as other:
            again = await other.get(link)
            assert again.status_code == 401 and "cannot be used" in again.text
            assert COOKIE not in again.cookies
            wrong = await other.get(link[:-3] + "abc")
            assert wrong.status_code == 401


async def test_an_expired_link_is_refused(harness: Harness) -> None:
    port = setup(harness)
    async with harness.running() as service:
        token = service.store.logins.issue(ADMIN, ttl=timedelta(seconds=-1))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            answer = await web.get("/login", params={"token": token})
            assert answer.status_code == 401 and COOKIE not in answer.cookies
            fresh = service.store.logins.issue(ADMIN)
            assert (await web.get("/login", params={"token": fresh})).status_code == 303


async def test_posts_without_the_sessions_csrf_token_are_refused(harness: Harness) -> None:
    port = setup(harness)
    rules = harness.config / "rules.yaml"
    before = rules.read_text()
    async with harness.running() as service:
        token = service.store.logins.issue(ADMIN)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            assert (await web.get("/login", params={"token": token})).status_code == 303
            editor = await web.get("/rules")
            assert editor.status_code == 200
            for csrf in (None, "", "not-the-token"):
                data = {"rules": "topics: []\n", "base": "x"}
                if csrf is not None:
                    data["csrf"] = csrf
                answer = await web.post("/rules/save", data=data)
                assert answer.status_code == 403, csrf
            other = service.store.logins.issue(ADMIN)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as second:
                await second.get("/login", params={"token": other})
                theirs = _csrf((await second.get("/rules")).text)
            assert theirs != _csrf(editor.text)
            answer = await web.post("/rules/save", data={"rules": "x", "base": "x", "csrf": theirs})
            assert answer.status_code == 403  # another session's token is no good here
    assert rules.read_text() == before


async def test_no_page_shows_the_bot_token_or_the_login_token(harness: Harness) -> None:
    port = setup(harness)
    async with harness.running() as service:
        link = await login_link(harness)
        assert link is not None
        token = link.split("token=", 1)[1]
        secret = service.store.secret("console_session_key").hex()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            assert (await web.get(link)).status_code == 303
            for path in PAGES:
                page = await web.get(path, follow_redirects=True)
                assert page.status_code == 200, path
                for hidden in (DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1], token, secret):
                    assert hidden not in page.text, (path, hidden[:6])
                assert page.headers["x-frame-options"] == "DENY"


def _csrf(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


async def test_a_port_in_use_is_a_startup_error_naming_the_setting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(StartupError, match=r"web.port / NEWSBOT_WEB__PORT"):
            await ConsoleServer(object(), "127.0.0.1", port).start()
