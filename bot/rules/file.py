"""The topic rules file: its format, its validation, and the RuleSet it yields.

The file is validated as a whole before anything uses it, so a bad edit never
replaces good rules. Every refusal names the file, the line, the topic and why.
The format is documented in ``docs/rules.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config.yamlfile import Loc, describe, dotted, line_of, read_yaml
from bot.core.errors import ConfigError
from bot.rules.model import (
    FIELDS,
    TOPIC_ID,
    RegexTerm,
    RuleSet,
    Term,
    Topic,
    TopicRef,
    parse_pattern,
)
from bot.rules.saferegex import check_regex


class _TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=TOPIC_ID)
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1)
    any: list[str] = []
    all: list[list[str]] = []
    none: list[str] = []
    exclude: list[str] = []
    fields: list[Literal["title", "summary", "body"]] = list(FIELDS)
    min_hits: int = Field(1, ge=1, le=100)


class _RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    lists: dict[str, list[str]] = {}
    topics: list[_TopicIn] = Field(min_length=1)


class _Builder:
    """Turns the validated file into a RuleSet, naming file:line on each refusal."""

    def __init__(self, raw: _RulesIn, path: Path, lines: dict[Loc, int]) -> None:
        self.raw, self.path, self.lines = raw, path, lines
        self.ids = {t.id for t in raw.topics}

    def fail(self, loc: Loc, topic: str | None, reason: str) -> ConfigError:
        line = line_of(self.lines, loc)
        where = f"{self.path}:{line}" if line else str(self.path)
        about = f" (topic '{topic}')" if topic else ""
        return ConfigError(f"{where}: {dotted(loc)}{about}: {reason}")

    def terms(self, items: list[str], loc: Loc, topic: str | None, depth: int = 0) -> list[Term]:
        out: list[Term] = []
        for i, item in enumerate(items):
            here = (*loc, i)
            text = item.strip()
            if text.startswith("@"):
                name = text[1:]
                if name not in self.raw.lists or depth:
                    why = "lists cannot refer to lists" if depth else f"unknown list '{text}'"
                    raise self.fail(here, topic, why)
                out.extend(self.terms(self.raw.lists[name], ("lists", name), topic, depth + 1))
            elif text.startswith("re:"):
                try:
                    out.append(RegexTerm(text, check_regex(text.removeprefix("re:"))))
                except ValueError as exc:
                    raise self.fail(here, topic, str(exc)) from None
            elif text.startswith("topic:"):
                ref = text.removeprefix("topic:").strip()
                if ref not in self.ids:
                    raise self.fail(here, topic, f"unknown topic '{ref}'")
                if ref == topic:
                    raise self.fail(here, topic, "a topic cannot refer to itself")
                out.append(TopicRef(ref))
            else:
                try:
                    out.append(parse_pattern(text))
                except ValueError as exc:
                    raise self.fail(here, topic, str(exc)) from None
        return out

    def topic(self, index: int, raw: _TopicIn) -> Topic:
        loc: Loc = ("topics", index)
        if not raw.any and not raw.all:
            raise self.fail(loc, raw.id, "needs 'any' or 'all' terms")
        exclude = self.terms(raw.exclude, (*loc, "exclude"), raw.id)
        if any(isinstance(t, TopicRef) for t in exclude):
            raise self.fail((*loc, "exclude"), raw.id, "exclude takes words, not topics")
        return Topic(
            id=raw.id,
            name=raw.name,
            description=" ".join(raw.description.split()),
            any=tuple(self.terms(raw.any, (*loc, "any"), raw.id)),
            all=tuple(
                tuple(self.terms(group, (*loc, "all", g), raw.id))
                for g, group in enumerate(raw.all)
            ),
            none=tuple(self.terms(raw.none, (*loc, "none"), raw.id)),
            exclude=tuple(t for t in exclude if not isinstance(t, TopicRef)),
            fields=tuple(raw.fields),
            min_hits=raw.min_hits,
        )

    def build(self) -> RuleSet:
        seen: set[str] = set()
        for i, t in enumerate(self.raw.topics):
            if t.id in seen:
                raise self.fail(("topics", i, "id"), t.id, "duplicate topic id")
            seen.add(t.id)
        for name in self.raw.lists:
            if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                raise self.fail(("lists", name), None, "list names use letters, digits and _")
        topics = [self.topic(i, t) for i, t in enumerate(self.raw.topics)]
        return RuleSet(tuple(self.order(topics)))

    def order(self, topics: list[Topic]) -> list[Topic]:
        """Topologically sort by ``topic:`` references, refusing cycles."""
        by_id = {t.id: t for t in topics}
        done: list[Topic] = []
        state: dict[str, int] = {}

        def visit(t: Topic, chain: list[str]) -> None:
            if state.get(t.id) == 2:
                return
            if state.get(t.id) == 1:
                cycle = " -> ".join([*chain, t.id])
                index = next(i for i, x in enumerate(topics) if x.id == t.id)
                raise self.fail(("topics", index), t.id, f"topic references form a cycle: {cycle}")
            state[t.id] = 1
            for ref in _refs(t):
                visit(by_id[ref], [*chain, t.id])
            state[t.id] = 2
            done.append(t)

        for t in topics:
            visit(t, [])
        return done


def _refs(topic: Topic) -> list[str]:
    groups = [topic.any, topic.none, *topic.all]
    return [t.topic_id for g in groups for t in g if isinstance(t, TopicRef)]


def _with_topics(message: str, data: object) -> str:
    """Name the topic on each ``topics[i]`` error line, so users find it by id."""
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, list):
        return message

    def name(m: re.Match[str]) -> str:
        i = int(m[1])
        item = topics[i] if i < len(topics) else None
        tid = item.get("id") if isinstance(item, dict) else None
        return f"{m[0]} (topic '{tid}')" if tid else m[0]

    return re.sub(r"(?m)topics\[(\d+)\]([^:]*)", name, message)


def parse_rules(data: object, path: Path, lines: dict[Loc, int]) -> RuleSet:
    """Validate parsed YAML as a rules file; raise ConfigError naming file:line."""
    try:
        raw = _RulesIn.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(_with_topics(describe(path, lines, exc), data)) from exc
    return _Builder(raw, path, lines).build()


def load_rules(path: Path) -> RuleSet:
    """Read and validate the rules file as a whole."""
    data, lines = read_yaml(path)
    return parse_rules(data, path, lines)
