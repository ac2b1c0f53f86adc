"""The rules in force, reloaded when the file changes, and never replaced by a bad edit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.core.errors import ConfigError
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher

log = logging.getLogger(__name__)


class LiveRules:
    """Holds the last good Matcher; ``current()`` picks up a valid edit of the file.

    Start-up fails on a bad file (there are no good rules yet). Later, a bad edit
    is refused: the old rules stay in force and ``on_rejected`` tells the admins,
    once per distinct file version.
    """

    def __init__(self, path: Path, on_rejected: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_rejected = on_rejected
        self._stamp = self._read_stamp()
        self.matcher = Matcher(load_rules(path))
        self._rejected: tuple | None = None

    def _read_stamp(self) -> tuple:
        try:
            st = self.path.stat()
        except OSError:
            return ()
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Matcher:
        """The matcher to use for this cycle (reloading the file if it changed)."""
        stamp = self._read_stamp()
        if stamp != self._stamp and stamp != self._rejected:
            try:
                self.matcher = Matcher(load_rules(self.path))
            except ConfigError as exc:
                self._rejected = stamp
                log.error("rules_rejected", extra={"path": str(self.path), "error": str(exc)})
                if self.on_rejected:
                    self.on_rejected(str(exc))
            else:
                self._stamp, self._rejected = stamp, None
                log.info(
                    "rules_reloaded",
                    extra={"path": str(self.path), "topics": len(self.matcher.rules.topics)},
                )
        return self.matcher
