"""Edits of the config files made from chat or the console: validated whole, written atomically.

The YAML files stay the one source of truth: an edit is applied to a round-trip
copy (ruamel.yaml keeps comments, order and quoting), the result goes through
exactly the validation a hand edit gets, and only then replaces the file, at once
and durably (``write_atomically``), keeping its permissions.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from bot.config.feeds import FeedList
from bot.config.yamlfile import describe, parse_text
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
    write_atomically(path, text)
    return result


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once, durably, keeping its mode (and owner).

    A temporary file beside it is written, flushed to disk, given the old file's
    permissions, renamed over it, and the directory synced: a reader sees the old
    file or the new one, never part of either, even across a power cut.
    """
    try:
        old = path.stat()
    except OSError:
        old = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if old is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))  # mkstemp makes it 0600
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(f.fileno(), old.st_uid, old.st_gid)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_directory(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write: {exc.strerror} (is config/ read-only?)") from None


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def edit_feeds(path: Path, change: Callable[[CommentedMap], None]) -> FeedList:
    """Apply ``change`` to the feed list if the result is a valid feed list."""

    def check(text: str) -> FeedList:
        try:
            data, lines = parse_text(text, path)
            return FeedList.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(describe(path, lines, exc)) from None

    return edit_file(path, change, check)
