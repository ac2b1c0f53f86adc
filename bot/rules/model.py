"""Topic rules as frozen values: what the matcher compiles and the workers unpickle.

Reading and validating the rules file (pydantic, YAML) lives in ``bot.rules.file``,
so that an extraction worker, which only needs these classes, never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.normalize import words

FIELDS = ("title", "summary", "body")
MIN_PREFIX = 3
TOPIC_ID = r"^[a-z0-9][a-z0-9_]{0,39}$"

Word = tuple[str, bool]  # (folded word, is_prefix)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A word or phrase term; ``label`` is the term as the user wrote it."""

    label: str
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class RegexTerm:
    """``re:<pattern>``: a regular expression, checked so it cannot backtrack badly."""

    label: str
    source: str


@dataclass(frozen=True, slots=True)
class TopicRef:
    """``topic:<id>``: satisfied when that topic matches."""

    topic_id: str


Term = Pattern | RegexTerm | TopicRef
WordTerm = Pattern | RegexTerm


@dataclass(frozen=True, slots=True)
class Topic:
    """One compiled topic: its term groups, exceptions, scope and threshold."""

    id: str
    name: str
    description: str
    any: tuple[Term, ...]
    all: tuple[tuple[Term, ...], ...]
    none: tuple[Term, ...]
    exclude: tuple[WordTerm, ...]
    fields: tuple[str, ...]
    min_hits: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All topics, in an order where every topic comes after those it refers to."""

    topics: tuple[Topic, ...]

    def get(self, topic_id: str) -> Topic | None:
        """The topic with this id, if any."""
        return next((t for t in self.topics if t.id == topic_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        """Topic ids in file order of dependency."""
        return tuple(t.id for t in self.topics)


def parse_pattern(term: str) -> Pattern:
    """Parse a word or phrase term; ``*`` may end any word as a prefix wildcard."""
    out: list[Word] = []
    for chunk in term.split():
        prefix = chunk.endswith("*")
        core = chunk.rstrip("*")
        if "*" in core:
            raise ValueError(f"'{term}': '*' is only allowed at the end of a word")
        folded = words(core)
        if not folded:
            raise ValueError(f"'{term}': has no letters or digits")
        out.extend((w, False) for w in folded[:-1])
        out.append((folded[-1], prefix))
    if not out:
        raise ValueError("empty term")
    if len(out) == 1 and out[0][1] and len(out[0][0]) < MIN_PREFIX:
        # A lone short prefix ("ab*") would hit far too much; in a phrase it is anchored.
        raise ValueError(f"'{term}': a wildcard needs at least {MIN_PREFIX} letters before '*'")
    return Pattern(term.strip(), tuple(out))
