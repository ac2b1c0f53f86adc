"""One-time console login links: random tokens, stored hashed, short-lived, used once.

The token travels only in the link an admin gets in Telegram; the store keeps its
SHA-256, so a copy of the database logs no one in. Using a link is one UPDATE
that also checks it is unused and unexpired, so two replicas (or two clicks)
cannot both spend it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store.schema import console_logins

LOGIN_TTL = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class LoginStore:
    """Issue and spend login tokens."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def issue(self, user_id: int, ttl: timedelta = LOGIN_TTL) -> str:
        """A new single-use token for ``user_id``, valid for ``ttl``; expired ones are dropped."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(console_logins.delete().where(console_logins.c.expires_at < now))
            conn.execute(
                console_logins.insert().values(
                    token_hash=_hash(token), user_id=user_id, created_at=now, expires_at=now + ttl
                )
            )
        return token

    def spend(self, token: str) -> int | None:
        """The user the token was issued to, if it is unused and unexpired; it is then used."""
        if not token or len(token) > 200:
            return None
        now, digest = utcnow(), _hash(token)
        spent = (
            console_logins.update()
            .where(
                console_logins.c.token_hash == digest,
                console_logins.c.used_at.is_(None),
                console_logins.c.expires_at > now,
            )
            .values(used_at=now)
        )
        with self.engine.begin() as conn:
            if conn.execute(spent).rowcount != 1:
                return None
            return conn.scalar(
                sa.select(console_logins.c.user_id).where(console_logins.c.token_hash == digest)
            )
