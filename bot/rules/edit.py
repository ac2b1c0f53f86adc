"""Rule edits made from chat: applied to the rules file through the validated config edit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.edit import edit_file
from bot.config.yamlfile import line_map
from bot.core.errors import ConfigError
from bot.rules.file import parse_rules
from bot.rules.model import RuleSet


def edit_rules(path: Path, change: Callable[[CommentedMap], None]) -> RuleSet:
    """Apply ``change`` to the rules file if the result is a valid rules file."""

    def check(text: str) -> RuleSet:
        return parse_rules(yaml.safe_load(text), path, line_map(text))

    return edit_file(path, change, check)


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
