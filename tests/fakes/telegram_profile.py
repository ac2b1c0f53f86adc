"""The bot's profile in the fake Bot API: its command menus and descriptions.

Telegram keeps one menu per scope and language and one description (and short
description) per language; a user sees the entry for their app's language, or
the default one set without ``language_code``. Limits as documented: a command is
1-32 characters of ``a-z``, ``0-9`` and ``_`` with a 1-256 character description;
a description up to 512 characters, a short one up to 120.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .telegram_wire import bad_request

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
MAX_DESCRIPTION = 512
MAX_SHORT_DESCRIPTION = 120
MAX_COMMAND_DESCRIPTION = 256
MAX_COMMANDS = 100


class ProfileMethods:
    """Mixin: setMyCommands and friends, setMyDescription and setMyShortDescription."""

    _cond: threading.Condition
    _commands: dict[str, list[dict[str, Any]]]
    _last_commands: list[dict[str, Any]] | None
    _descriptions: dict[tuple[str, str], str]

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return f"{sorted(scope.items())}|{params.get('language_code') or ''}"

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = list(params.get("commands") or [])
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for entry in commands:
            name = str(entry.get("command", ""))
            text = str(entry.get("description", ""))
            if not _COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not text.strip() or len(text) > MAX_COMMAND_DESCRIPTION:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = commands
        self._last_commands = commands
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(self._commands_key(params), [])

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _describe(self, kind: str, field: str, limit: int, params: dict[str, Any]) -> bool:
        text = str(params.get(field) or "")
        if len(text) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self._descriptions[key] = text
        else:  # an empty text removes the entry for that language
            self._descriptions.pop(key, None)
        return True

    def set_my_description(self, params: dict[str, Any]) -> bool:
        return self._describe("description", "description", MAX_DESCRIPTION, params)

    def set_my_short_description(self, params: dict[str, Any]) -> bool:
        return self._describe("short", "short_description", MAX_SHORT_DESCRIPTION, params)

    def _described(self, kind: str, params: dict[str, Any]) -> str:
        lang = str(params.get("language_code") or "")
        return self._descriptions.get((kind, lang), self._descriptions.get((kind, ""), ""))

    def get_my_description(self, params: dict[str, Any]) -> dict[str, str]:
        return {"description": self._described("description", params)}

    def get_my_short_description(self, params: dict[str, Any]) -> dict[str, str]:
        return {"short_description": self._described("short", params)}

    # -- test-side -----------------------------------------------------------------
    def commands_for(self, scope: dict[str, Any] | None = None, language: str = "") -> list[dict]:
        """The menu set for ``scope`` (default: everyone) and language ("" = default)."""
        with self._cond:
            key = self._commands_key({"scope": scope, "language_code": language})
            return list(self._commands.get(key, []))

    def description(self, language: str = "", *, short: bool = False) -> str:
        """The (short) description a user with app language ``language`` sees."""
        with self._cond:
            kind = "short" if short else "description"
            return self._described(kind, {"language_code": language})
