"""The console's Starlette application: access control, then the pages.

Starlette (by the uvicorn authors) gives routing, forms and responses with no
framework magic; Jinja2 renders the pages with autoescape on, so no article
title or feed name can inject markup.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.config.settings import Settings
from bot.rules.live import LiveRules
from bot.store import Store
from bot.web.auth import COOKIE, SECRET_NAME, SESSION_SECONDS, Session, Sessions, csrf_ok

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# /addfeed's probe: (the feed's URL, its title, found through a web page?).
Probe = Callable[[str], Awaitable[tuple[str, str, bool]]]
OPEN_PATHS = {"/login"}
MAX_BODY = 3_000_000  # bytes: a rules file and then some
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
]


@dataclass
class Console:
    """What every page reads: the store, the settings, the rules in force, the probe."""

    store: Store
    settings: Settings
    rules: LiveRules
    probe: Probe | None
    sessions: Sessions
    env: Environment

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A page, with the session's CSRF token for its forms."""
        session: Session | None = request.scope.get("session_info")
        html = self.env.get_template(name).render(
            csrf=session.csrf if session else "",
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status)


class Guard:
    """ASGI middleware: no session, 401; a POST without the session's CSRF token, 403."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app, self.console = app, console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        request = Request(scope, receive)
        if scope["path"] not in OPEN_PATHS:
            session = self.console.sessions.read(request.cookies.get(COOKIE))
            if session is None:
                page = self.console.env.get_template("denied.html").render()
                await HTMLResponse(page, status_code=401)(scope, receive, secured)
                return
            scope["session_info"] = session
            if scope["method"] not in ("GET", "HEAD") and not await _csrf_sent(
                request, session, scope
            ):
                await Response("CSRF token missing or wrong", 403)(scope, receive, secured)
                return
            receive = _replay(scope, receive)
        await self.app(scope, receive, secured)


async def _csrf_sent(request: Request, session: Session, scope: Scope) -> bool:
    """Reads the body once (kept in the scope for the page) and checks the form's token."""
    header = request.headers.get("x-csrf-token")
    if header is not None:
        return csrf_ok(session, header)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return False
    scope["cached_body"] = body
    form = await Request(scope, _once(body)).form()
    return csrf_ok(session, form.get("csrf"))  # type: ignore[arg-type]


def _once(body: bytes) -> Receive:
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _replay(scope: Scope, receive: Receive) -> Receive:
    """The body read by the CSRF check, handed to the page again."""
    if "cached_body" not in scope:
        return receive
    body, sent = scope.pop("cached_body"), False

    async def again() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def build_app(
    store: Store, settings: Settings, rules: LiveRules, probe: Probe | None = None
) -> ASGIApp:
    """The console: every route behind ``Guard`` except ``/login``."""
    from bot.web import pages, rulespage

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    sessions = Sessions(store.secret(SECRET_NAME), settings.telegram.admins)
    console = Console(store, settings, rules, probe, sessions, env)
    env.globals["nav"] = pages.NAV
    secure = (settings.web.public_url or "").startswith("https://")

    async def login(request: Request) -> Response:
        user = store.logins.spend(request.query_params.get("token", ""))
        if user is None or user not in settings.telegram.admins:
            log.warning("console_login_refused")
            return console.render(request, "denied.html", status=401, used=True)
        log.info("console_login", extra={"user_id": user})
        response = RedirectResponse("/archive", status_code=303)
        response.set_cookie(
            COOKIE,
            sessions.new(user),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    routes = [
        Route("/", lambda r: RedirectResponse("/archive", status_code=303)),
        Route("/login", login),
        Route("/logout", logout, methods=["POST"]),
        *pages.routes(console),
        *rulespage.routes(console),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Guard(Starlette(routes=routes), console)
