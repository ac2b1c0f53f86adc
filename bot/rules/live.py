"""The rules in force, reloaded when the file changes, and never replaced by a bad edit.

The running bot reloads through ``refresh``, which reads and compiles in a thread
(a thousand topics take ~0.1 s to compile: the event loop must not wait on
that) and only reads a file that has settled: a version first seen less than
``SETTLE_SECONDS`` after it was written waits for the next check, and a file
that changes while it is read is read again later. An editor writing the file
in place is so never caught half-way (half a rules file can parse as a smaller
rule set), and a file torn for good (the writer died) at least has to parse as
a whole before it replaces anything. Chat edits are atomic, so they go live at
once (``refresh(now=True)``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.config.yamlfile import parse_text
from bot.core.errors import ConfigError
from bot.rules.file import load_rules, parse_rules
from bot.rules.matcher import Matcher

log = logging.getLogger(__name__)
SETTLE_SECONDS = 1.0
Stamp = tuple[int, int, int]


class _Unsettled(Exception):
    """The file changed while it was read."""


class LiveRules:
    """Holds the last good Matcher; ``current()``/``refresh()`` pick up a valid edit.

    Start-up fails on a bad file (there are no good rules yet). Later, a bad edit
    is refused: the old rules stay in force and ``on_rejected`` tells the admins,
    once per distinct file version.
    """

    def __init__(self, path: Path, on_rejected: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_rejected = on_rejected
        self._stamp = self._read_stamp()
        self.matcher = Matcher(load_rules(path))
        self._rejected: Stamp | tuple[()] | None = None
        self._seen: Stamp | tuple[()] | None = None  # the newest version seen, not yet read

    def _read_stamp(self) -> Stamp | tuple[()]:
        try:
            st = self.path.stat()
        except OSError:
            return ()
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Matcher:
        """The matcher to use now, reading the file at once if it changed (tests, tools)."""
        stamp = self._read_stamp()
        if stamp not in (self._stamp, self._rejected):
            self._apply(stamp, self._load())
        return self.matcher

    async def refresh(self, *, now: bool = False) -> Matcher:
        """The matcher for this cycle: a settled change is read and compiled off the loop."""
        stamp = self._read_stamp()
        if stamp in (self._stamp, self._rejected) or not (now or self._settled(stamp)):
            return self.matcher
        self._apply(stamp, await asyncio.to_thread(self._load))
        return self.matcher

    def _settled(self, stamp: Stamp | tuple[()]) -> bool:
        """Seen unchanged at an earlier check, or written long enough ago."""
        if stamp == self._seen:
            return True
        self._seen = stamp
        return bool(stamp) and time.time() - stamp[0] / 1e9 >= SETTLE_SECONDS

    def _load(self) -> Matcher | ConfigError | _Unsettled:
        """Read, validate and compile the file (in a worker thread, for ``refresh``)."""
        before = self._read_stamp()
        try:
            data = self.path.read_bytes()
            if self._read_stamp() != before or (before and len(data) != before[1]):
                return _Unsettled()
            parsed, lines = parse_text(data.decode("utf-8"), self.path)
            return Matcher(parse_rules(parsed, self.path, lines))
        except ConfigError as exc:
            return exc
        except (OSError, UnicodeDecodeError) as exc:
            return ConfigError(f"{self.path}: cannot read: {exc}")

    def _apply(self, stamp: Stamp | tuple[()], loaded: Matcher | ConfigError | _Unsettled) -> None:
        if isinstance(loaded, _Unsettled) or stamp in (self._stamp, self._rejected):
            return  # being written (read again later), or another check got there first
        if isinstance(loaded, ConfigError):
            self._rejected = stamp
            log.error("rules_rejected", extra={"path": str(self.path), "error": str(loaded)})
            if self.on_rejected:
                self.on_rejected(str(loaded))
            return
        self.matcher, self._stamp, self._rejected = loaded, stamp, None
        log.info(
            "rules_reloaded",
            extra={"path": str(self.path), "topics": len(self.matcher.rules.topics)},
        )
