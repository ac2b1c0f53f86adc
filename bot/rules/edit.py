"""Rule edits made from chat: applied to the rules file through the validated config edit.

An edit that cannot apply raises ``EditRefused`` with a stable ``why`` code and
what it is about, so the chat can say so in words (and in the chat's language);
``term_problem`` words nothing either, it only says what is wrong with a new term.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.yamlfile import parse_text
from bot.core.errors import ConfigError
from bot.rules.file import parse_rules
from bot.rules.model import TOPIC_ID, RuleSet, parse_pattern
from bot.rules.saferegex import check_regex

if TYPE_CHECKING:  # ruamel.yaml is loaded by the first edit, not by every start-up
    from ruamel.yaml.comments import CommentedMap

PARTS = ("any", "all", "none", "exclude")


class EditRefused(ConfigError):
    """A chat edit that cannot apply. ``why``: unknown_topic, duplicate_topic, bad_topic_id,
    duplicate_term, no_such_term or would_empty_group; ``detail``: what it is about."""

    def __init__(self, why: str, message: str, **detail: str) -> None:
        super().__init__(message)
        self.why, self.detail = why, detail


def edit_rules(path: Path, change: Callable[[CommentedMap], None]) -> RuleSet:
    """Apply ``change`` to the rules file if the result is a valid rules file."""

    from bot.config.edit import edit_file

    def check(text: str) -> RuleSet:
        data, lines = parse_text(text, path)
        return parse_rules(data, path, lines)

    return edit_file(path, change, check)


def _topic(doc: CommentedMap, topic_id: str) -> CommentedMap:
    for topic in doc.get("topics") or []:
        if topic.get("id") == topic_id:
            return topic
    raise EditRefused("unknown_topic", f"unknown topic '{topic_id}'", topic=topic_id)


def add_topic(doc: CommentedMap, topic_id: str, name: str) -> None:
    """A new topic whose first term is its name."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if not re.fullmatch(TOPIC_ID, topic_id):
        raise EditRefused("bad_topic_id", f"'{topic_id}' is not a topic id", topic=topic_id)
    if any(t.get("id") == topic_id for t in doc.get("topics") or []):
        raise EditRefused("duplicate_topic", f"topic '{topic_id}' exists", topic=topic_id)
    doc.setdefault("topics", CommentedSeq()).append(
        CommentedMap(
            id=topic_id, name=name, description=f"{name} (added in chat)", any=CommentedSeq([name])
        )
    )


def add_term(doc: CommentedMap, topic_id: str, term: str) -> str:
    """Append a term to a topic's ``any`` list; returns "any"."""
    from ruamel.yaml.comments import CommentedSeq

    topic = _topic(doc, topic_id)
    terms = topic.setdefault("any", CommentedSeq())
    if term in terms:
        raise EditRefused(
            "duplicate_term",
            f"topic '{topic_id}' already has the term '{term}'",
            topic=topic_id,
            term=term,
        )
    terms.append(term)
    return "any"


def _lists_of(topic: CommentedMap) -> list[str]:
    """The ``@lists`` a topic uses, in the order it names them."""
    names = []
    for part in PARTS:
        groups = topic.get(part) or []
        for item in [x for g in groups for x in g] if part == "all" else groups:
            if isinstance(item, str) and item.strip().startswith("@"):
                names.append(item.strip()[1:])
    return list(dict.fromkeys(names))


def remove_term(doc: CommentedMap, topic_id: str, term: str) -> str:
    """Remove a term from a topic wherever it is: its any, all, none or exclude lists, or
    a list the topic uses (then every topic using that list loses it). Returns where:
    "any", "all", "none", "exclude" or "@" + the list's name."""
    topic = _topic(doc, topic_id)
    for part in ("any", "none", "exclude"):
        terms = topic.get(part) or []
        if term in terms:
            terms.remove(term)
            return part
    for group in topic.get("all") or []:
        if term in group:
            if len(group) == 1:
                raise EditRefused(
                    "would_empty_group", "last term of an 'all' group", topic=topic_id, term=term
                )
            group.remove(term)
            return "all"
    for name in _lists_of(topic):
        terms = (doc.get("lists") or {}).get(name) or []
        if term in terms:
            terms.remove(term)
            return "@" + name
    raise EditRefused(
        "no_such_term", f"topic '{topic_id}' has no term '{term}'", topic=topic_id, term=term
    )


def list_users(doc: dict, name: str) -> list[str]:
    """The ids of the topics that use the list ``name``."""
    return [t.get("id") for t in doc.get("topics") or [] if name in _lists_of(t)]


def term_problem(term: str, doc: dict) -> tuple[str, str] | None:
    """What is wrong with ``term`` as a new term, or None.

    ``("regex", reason)``, ``("word", reason)`` with the checker's reason,
    ``("list", name)`` for an unknown ``@list`` or ``("topic", id)`` for an unknown
    ``topic:`` reference.
    """
    text = term.strip()
    if text.startswith("re:"):
        try:
            check_regex(text.removeprefix("re:"))
        except ValueError as exc:
            return "regex", str(exc)
        return None
    if text.startswith("@"):
        return None if text[1:] in (doc.get("lists") or {}) else ("list", text[1:])
    if text.startswith("topic:"):
        ref = text.removeprefix("topic:").strip()
        ids = {t.get("id") for t in doc.get("topics") or []}
        return None if ref in ids else ("topic", ref)
    try:
        parse_pattern(text)
    except ValueError as exc:
        return "word", str(exc)
    return None
