"""Telegram's wire format: decoding PTB's requests and building error envelopes.

PTB posts every parameter as a string field (form-encoded, or multipart when uploading):
plain strings raw, everything else ``json.dumps``-ed, so ints arrive as "42", bools as
"true" and nested objects (reply_markup, commands, ...) as JSON text.  We restore the
types Telegram would see so method code and assertions can work with real values.
"""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "commands",
        "allowed_updates",
        "scope",
        "entities",
        "reply_parameters",
        "caption_entities",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
    }
)
NUMBER_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "message_thread_id"}
)


class ApiError(Exception):
    """An error reply; the HTTP status equals ``error_code`` exactly like Telegram's."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = {k: v for k, v in parameters.items() if v is not None}

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str, **parameters: Any) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}", **parameters)


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    if key in NUMBER_FIELDS:
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value  # e.g. chat_id="@channel"


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


def parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Decode query string plus a JSON, form-encoded or multipart body into typed params."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" and body:
        try:
            raw.update(json.loads(body))
        except ValueError:
            raise bad_request("can't parse JSON body") from None
    elif kind == "application/x-www-form-urlencoded":
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        raw.update(_multipart(content_type, body))
    return {key: _coerce(key, value) for key, value in raw.items()}
