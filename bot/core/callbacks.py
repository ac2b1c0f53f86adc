"""Signed callback data: a button's payload, and proof that newsbot put it on that chat's button.

Callback data travels through the user's client, which can send any bytes back,
so every button newsbot makes carries ``action:field:…:signature``. The signature
is an HMAC-SHA256 over the chat id and the payload, truncated to 64 bits, with a
random key kept in the database (``Store.secret``): never the bot token, shared
by every replica, and unchanged by a token rotation. A forged, altered or
other-chat payload fails ``open``; a press must then get a short notice only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from bot.core.message import CALLBACK_DATA_LIMIT

SIGNATURE_BYTES = 8
_FIELD = re.compile(r"[A-Za-z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class Press:
    """A verified button press: what to do, and on what."""

    action: str
    fields: tuple[str, ...]


class Signer:
    """Makes and checks callback data for one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a callback key needs at least 16 bytes")
        self._key = key

    def _mac(self, chat_id: int, payload: str) -> str:
        digest = hmac.new(self._key, f"{chat_id}|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")

    def sign(self, chat_id: int, action: str, *fields: object) -> str:
        """Callback data for a button on a message in ``chat_id``."""
        parts = [action, *(str(f) for f in fields)]
        if not action or any(":" in p or not _FIELD.fullmatch(p) for p in parts):
            raise ValueError(f"callback fields must be plain tokens: {parts!r}")
        payload = ":".join(parts)
        data = f"{payload}:{self._mac(chat_id, payload)}"
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"callback data {data!r} is over {CALLBACK_DATA_LIMIT} bytes")
        return data

    def open(self, chat_id: int, data: str | None) -> Press | None:
        """The press behind ``data`` if newsbot signed it for ``chat_id``; None if not."""
        if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
            return None
        payload, _, mac = data.rpartition(":")
        if not payload or not hmac.compare_digest(
            mac.encode(), self._mac(chat_id, payload).encode()
        ):
            return None
        action, *fields = payload.split(":")
        return Press(action, tuple(fields))
