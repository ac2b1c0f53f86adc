"""Sessions and CSRF: a signed cookie (itsdangerous) carrying the admin and a CSRF token.

itsdangerous is the signing library Flask and Starlette's own sessions use; the
key lives in the store (``Store.secret``), made once, so every replica accepts the
cookies of every other, and it is never in the settings. Every request without a
valid session is answered 401, except ``/login``, which spends a one-time token.
Every POST must carry the session's CSRF token (a form field or ``X-CSRF-Token``):
a double submit bound to the signed session, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "newsbot_console"
SESSION_SECONDS = 12 * 3600
SECRET_NAME = "console_session_key"


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in, and the CSRF token their forms must carry."""

    user_id: int
    csrf: str


class Sessions:
    """Make and read session cookies."""

    def __init__(self, key: bytes, admins: tuple[int, ...]) -> None:
        self._signer = URLSafeTimedSerializer(key, salt="newsbot-console-session")
        self.admins = admins

    def new(self, user_id: int) -> str:
        """A signed cookie value for a fresh session of ``user_id``."""
        return self._signer.dumps({"u": user_id, "c": secrets.token_urlsafe(24)})

    def read(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, if it is signed by us, fresh, and its user still an admin."""
        if not cookie or len(cookie) > 1000:
            return None
        try:
            data = self._signer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user, csrf = data.get("u"), data.get("c")
        if not isinstance(user, int) or not isinstance(csrf, str) or user not in self.admins:
            return None
        return Session(user, csrf)


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Does the request carry this session's CSRF token?"""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())
