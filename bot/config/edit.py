"""Edits of the config files made from chat or the console: validated whole, written atomically.

The YAML files stay the one source of truth: an edit is applied to a round-trip
copy (ruamel.yaml keeps comments, order and quoting), the result goes through
exactly the validation a hand edit gets, and only then replaces the file.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from bot.config.feeds import FeedList
from bot.config.yamlfile import describe, line_map
from bot.core.errors import ConfigError


def _yaml() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def edit_file(path: Path, change: Callable[[Any], None], check: Callable[[str], Any]) -> Any:
    """Apply ``change`` to a round-trip copy of ``path``; write it only if ``check`` passes."""
    rt = _yaml()
    try:
        doc = rt.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    change(doc)
    out = io.StringIO()
    rt.dump(doc, out)
    text = out.getvalue()
    result = check(text)  # raises ConfigError; the file is untouched then
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write: {exc.strerror} (is config/ read-only?)") from None
    return result


def edit_feeds(path: Path, change: Callable[[CommentedMap], None]) -> FeedList:
    """Apply ``change`` to the feed list if the result is a valid feed list."""

    def check(text: str) -> FeedList:
        try:
            return FeedList.model_validate(yaml.safe_load(text) or {})
        except ValidationError as exc:
            raise ConfigError(describe(path, line_map(text), exc)) from None

    return edit_file(path, change, check)
