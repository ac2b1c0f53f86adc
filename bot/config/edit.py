"""Edits of the config files made from chat: validated whole, written atomically.

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
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.feeds import FeedList
from bot.config.yamlfile import describe, line_map
from bot.core.errors import ConfigError
from bot.rules.file import parse_rules
from bot.rules.model import RuleSet


def _yaml() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _edit(path: Path, change: Callable[[Any], None], check: Callable[[str], Any]) -> Any:
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


def edit_rules(path: Path, change: Callable[[CommentedMap], None]) -> RuleSet:
    """Apply ``change`` to the rules file if the result is a valid rules file."""
    return _edit(path, change, lambda text: parse_rules(yaml.safe_load(text), path, line_map(text)))


def edit_feeds(path: Path, change: Callable[[CommentedMap], None]) -> FeedList:
    """Apply ``change`` to the feed list if the result is a valid feed list."""

    def check(text: str) -> FeedList:
        try:
            return FeedList.model_validate(yaml.safe_load(text) or {})
        except ValidationError as exc:
            raise ConfigError(describe(path, line_map(text), exc)) from None

    return _edit(path, change, check)


def _topic(doc: CommentedMap, topic_id: str) -> CommentedMap:
    for topic in doc.get("topics") or []:
        if topic.get("id") == topic_id:
            return topic
    raise ConfigError(f"unknown topic '{topic_id}'")


def add_topic(doc: CommentedMap, topic_id: str, name: str) -> None:
    """A new topic whose first term is its name."""
    doc.setdefault("topics", CommentedSeq()).append(
        CommentedMap(
            id=topic_id, name=name, description=f"{name} (added in chat)", any=CommentedSeq([name])
        )
    )


def add_term(doc: CommentedMap, topic_id: str, term: str) -> None:
    """Append a term to a topic's ``any`` list."""
    topic = _topic(doc, topic_id)
    terms = topic.setdefault("any", CommentedSeq())
    if term in terms:
        raise ConfigError(f"topic '{topic_id}' already has the term '{term}'")
    terms.append(term)


def remove_term(doc: CommentedMap, topic_id: str, term: str) -> None:
    """Remove a term from a topic's ``any`` list."""
    terms = _topic(doc, topic_id).get("any") or []
    if term not in terms:
        raise ConfigError(f"topic '{topic_id}' has no term '{term}' in its 'any' list")
    terms.remove(term)
