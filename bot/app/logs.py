"""Structured logging: an event name plus stable ``snake_case`` keys, as text or JSON.

Call sites log ``log.info("alert_sent", extra={"chat_id": 1})``. Every line
leaves through one formatter, which scrubs the bot token: httpx and PTB log
request URLs, and Bot API URLs contain it. Not everything is a log line, though:
an uncaught exception's traceback, a warning or a library's ``print`` go straight
to ``sys.stderr``/``sys.stdout`` (PTB's "The token `…` was rejected" did), so
those streams are wrapped to scrub the same way.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TextIO

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class _Redacting(logging.Formatter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return _TOKEN_SHAPE.sub("<redacted>", text)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class TextFormatter(_Redacting):
    """``2026-01-13T10:00:00Z INFO bot.pipeline.orchestrator cycle_done feeds=3 alerts=1``."""

    def render(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [ts, record.levelname, record.name, record.getMessage()]
        parts += [
            f"{k}={json.dumps(v, ensure_ascii=False, default=str)}"
            for k, v in _fields(record).items()
        ]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(_Redacting):
    """One JSON object per line, for log shippers."""

    def render(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class RedactingStream:
    """A text stream that scrubs what is written through it, then passes it on."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self.stream, self.redact = stream, redact

    def write(self, text: str) -> int:
        self.stream.write(self.redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> object:  # fileno, buffer, encoding, isatty, …
        return getattr(self.stream, name)


def _guard(stream: TextIO, redact: Callable[[str], str]) -> RedactingStream:
    inner = stream.stream if isinstance(stream, RedactingStream) else stream
    return RedactingStream(inner, redact)


def setup_logging(
    level: str = "INFO", *, as_json: bool = False, secrets: tuple[str, ...] = ()
) -> None:
    """Route every logger through one redacting handler on stderr; scrub both streams."""
    scrubber = _Redacting(secrets)
    sys.stdout = _guard(sys.stdout, scrubber.redact)  # type: ignore[assignment]
    sys.stderr = _guard(sys.stderr, scrubber.redact)  # type: ignore[assignment]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if as_json else TextFormatter(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "newsbot", False)]:
        root.removeHandler(old)  # a second call replaces, never doubles, our handler
    handler.newsbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that narrate at INFO (Alembic's plugin and migration steps, every
    # APScheduler job added and run, PTB starting and stopping, each HTTP request)
    # log warnings and errors only: INFO is newsbot's start line and one per cycle.
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "telegram"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
