"""Finding topics by what people type: an id, a name, or a word the topic watches for.

"/subscribe Kasachstan" works because "Kasach*" is one of the Kazakhstan topic's
terms: a name no topic has is matched against the rules themselves, so a topic
can be named in any language its terms cover, in any case. A name that still
finds nothing gets the closest names as "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from bot.core.models import Article
from bot.rules.live import LiveRules
from bot.rules.model import Topic, TopicRef

QUOTES = "\"'`“”„«»‘’"


def key(text: str) -> str:
    """How a typed name is compared: quotes and spaces around it dropped, case folded."""
    return " ".join(text.strip().strip(QUOTES).split()).casefold()


def _own_labels(topic: Topic) -> set[str]:
    groups = [topic.any, *topic.all]
    return {t.label for g in groups for t in g if not isinstance(t, TopicRef)}


def _size(topic: Topic) -> int:
    return len(topic.any) + sum(len(g) for g in topic.all)


class TopicFinder:
    """Topics of the rules in force, found by id, name or term."""

    def __init__(self, rules: LiveRules) -> None:
        self.rules = rules

    def topics(self) -> tuple[Topic, ...]:
        """The topics users can subscribe to, in the rules' order."""
        return self.rules.matcher.rules.topics

    def by_id(self, topic_id: str) -> Topic | None:
        """The topic with this exact id."""
        return self.rules.matcher.rules.get(topic_id)

    def named(self, name: str) -> Topic | None:
        """The topic whose id or name is ``name`` (any case)."""
        k = key(name)
        return next((t for t in self.topics() if k in (t.id.casefold(), t.name.casefold())), None)

    def find(self, name: str) -> Topic | None:
        """The topic ``name`` means: by id or name, else the most specific topic whose own
        terms it hits ("Kasachstan" -> Kazakhstan, "Tokajew" -> Tokayev)."""
        exact = self.named(name)
        if exact is not None or not key(name):
            return exact
        probe = Article("", name.strip().strip(QUOTES), "", "", "", None)
        hit = []
        for verdict in self.rules.matcher.explain(probe):
            topic = self.by_id(verdict.topic_id)
            if topic is not None and any(h.term in _own_labels(topic) for h in verdict.hits):
                hit.append(topic)
        return min(hit, key=_size) if hit else None

    def suggest(self, name: str, limit: int = 3) -> list[Topic]:
        """Topics whose id or name is close to ``name``, closest first."""
        k = key(name)
        names = {}
        for t in self.topics():
            names.setdefault(t.name.casefold(), t)
            names.setdefault(t.id.casefold(), t)
        close = difflib.get_close_matches(k, list(names), n=limit * 2, cutoff=0.7)
        starts = [n for n in names if k and (n.startswith(k) or k in n)]
        found = [names[n] for n in (*close, *starts)]
        return list(dict.fromkeys(found))[:limit]

    def resolve(self, args: Sequence[str]) -> tuple[list[Topic], list[str]]:
        """The topics named in ``args`` ("a b c", "Unrest in Kazakhstan", "a, b"), and the
        names that matched none."""
        whole = " ".join(args)
        if "," in whole:
            items = [p for p in (x.strip() for x in whole.split(",")) if p]
            found = [(p, self.find(p)) for p in items]
        else:
            found = self._runs(list(args))
        topics = list(dict.fromkeys(t for _, t in found if t is not None))
        return topics, [name for name, t in found if t is None]

    def _runs(self, words: list[str]) -> list[tuple[str, Topic | None]]:
        """Longest runs of words that name a topic; single words otherwise."""
        out: list[tuple[str, Topic | None]] = []
        i = 0
        while i < len(words):
            for j in range(len(words), i + 1, -1):
                topic = self.named(" ".join(words[i:j]))
                if topic is not None:
                    out.append((" ".join(words[i:j]), topic))
                    i = j
                    break
            else:
                out.append((words[i], self.find(words[i])))
                i += 1
        return out
