"""Match articles against every topic at once.

All word and phrase terms of all topics compile into one index keyed by first
word (exact, or for wildcards by the stem's first letters), so the cost per
article grows with its length, not with the number of topics: each token costs
two dict probes plus a prefix test per stem sharing its first letters, and only
topics that some term touched are evaluated.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.models import Article, Hit, TopicMatch
from bot.core.normalize import Token, tokenize, word_set
from bot.rules.model import FIELDS, RegexTerm, RuleSet, Term, Topic, TopicRef, WordTerm
from bot.rules.saferegex import MATCH_TIMEOUT, compiled

TITLE_WEIGHT = 2
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Found:
    pattern: int
    field: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a topic that some term touched did or did not match (for ``test-rules``)."""

    topic_id: str
    topic_name: str
    matched: bool
    reason: str
    hits: tuple[Hit, ...]


class Matcher:
    """A RuleSet compiled for matching; build once per rules version."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._patterns: list[WordTerm] = []
        self._regexes: list[int] = []
        self._ids: dict[tuple, int] = {}
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._prefix: dict[str, list[int]] = defaultdict(list)
        self._users: dict[int, set[str]] = defaultdict(set)
        self._dependents: dict[str, set[str]] = defaultdict(set)
        self._rank = {t.id: i for i, t in enumerate(rules.topics)}
        for topic in rules.topics:
            self._index_topic(topic)
        self._index_heads()

    def _index_topic(self, topic: Topic) -> None:
        groups = [topic.any, topic.none, topic.exclude, *topic.all]
        for term in (t for g in groups for t in g):
            if isinstance(term, TopicRef):
                self._dependents[term.topic_id].add(topic.id)
            else:
                self._users[self._pattern_id(term)].add(topic.id)

    def could_match(self, *texts: str) -> bool:
        """False only if no topic can match an article whose text is within ``texts``.

        A pattern can only hit where its first word occurs, so the patterns whose
        first word appears anywhere in a superset of the article's text bound what
        extraction could find. A topic could match only if its ``any`` group and each
        ``all`` group has such a candidate (a ``topic:`` reference: if that topic
        could match). Set operations keep this far cheaper than extraction.
        """
        cands: set[int] = set()
        heads, head_len = self._heads, self._head_len
        for text in texts:
            found = word_set(text)
            for word in found & self._exact.keys():
                cands.update(p for p in self._exact[word] if self._rest_present(p, found))
            for word in found:
                for stem, pids in heads.get(word[:head_len], ()):
                    if word.startswith(stem):
                        cands.update(p for p in pids if self._rest_present(p, found))
            cands.update(f.pattern for f in self._scan_regexes("body", text))
        possible: set[str] = set()
        for tid in sorted(self._touched(cands), key=self._rank.__getitem__):
            topic = self.rules.topics[self._rank[tid]]  # references come first

            def ok(terms: tuple[Term, ...]) -> bool:
                return any(
                    t.topic_id in possible
                    if isinstance(t, TopicRef)
                    else self._ids[_key(t)] in cands
                    for t in terms
                )

            if (not topic.any or ok(topic.any)) and all(ok(g) for g in topic.all):
                possible.add(topic.id)
        return bool(possible)

    def _touched(self, patterns: Iterable[int]) -> set[str]:
        """Topics using any of ``patterns``, plus every topic that refers to those."""
        touched = {tid for pid in patterns for tid in self._users[pid]}
        stack = list(touched)
        while stack:
            for dep in self._dependents.get(stack.pop(), ()):
                if dep not in touched:
                    touched.add(dep)
                    stack.append(dep)
        return touched

    def _rest_present(self, pid: int, found: set[str]) -> bool:
        """A phrase can only hit if its other whole words occur too ("Nur Sultan", not "nur")."""
        term = self._patterns[pid]
        return all(w in found for w, is_prefix in term.words[1:] if not is_prefix)  # type: ignore[union-attr]

    def _index_heads(self) -> None:
        """Wildcard stems by their first ``_head_len`` letters: one probe per word finds them."""
        self._head_len = min(map(len, self._prefix), default=0)
        heads: dict[str, list[tuple[str, tuple[int, ...]]]] = defaultdict(list)
        for stem, pids in self._prefix.items():
            heads[stem[: self._head_len]].append((stem, tuple(pids)))
        self._heads = dict(heads)

    def _pattern_id(self, pattern: WordTerm) -> int:
        key = _key(pattern)
        if key not in self._ids:
            self._ids[key] = len(self._patterns)
            self._patterns.append(pattern)
            if isinstance(pattern, RegexTerm):
                self._regexes.append(self._ids[key])
                return self._ids[key]
            word, is_prefix = key[0]
            if is_prefix:
                self._prefix[word].append(self._ids[key])
            else:
                self._exact[word].append(self._ids[key])
        return self._ids[key]

    def _scan(self, field: str, tokens: list[Token]) -> list[_Found]:
        out = []
        for i, tok in enumerate(tokens):
            cands = list(self._exact.get(tok.norm, ()))
            for stem, pids in self._heads.get(tok.norm[: self._head_len], ()):
                if tok.norm.startswith(stem):
                    cands.extend(pids)
            for pid in cands:
                words = self._patterns[pid].words  # type: ignore[union-attr]
                if _phrase_at(words, tokens, i):
                    end = tokens[i + len(words) - 1].end
                    out.append(_Found(pid, field, tok.start, end))
        return out

    def _scan_regexes(self, field: str, text: str) -> list[_Found]:
        out = []
        for pid in self._regexes:
            term = self._patterns[pid]
            try:
                for m in compiled(term.source).finditer(text, timeout=MATCH_TIMEOUT):
                    if m.end() > m.start():
                        out.append(_Found(pid, field, m.start(), m.end()))
            except TimeoutError:
                log.warning("regex_timeout", extra={"term": term.label, "field": field})
        return out

    def match(self, article: Article) -> list[TopicMatch]:
        """Every topic this article matches, with the hits that explain it."""
        return [
            TopicMatch(v.topic_id, v.topic_name, v.hits) for v in self.explain(article) if v.matched
        ]

    def explain(self, article: Article) -> list[Verdict]:
        """A verdict for every topic some term touched: matched, or why not."""
        texts = {"title": article.title, "summary": article.summary, "body": article.body}
        found: dict[int, list[_Found]] = defaultdict(list)
        for field in FIELDS:
            for f in self._scan(field, tokenize(texts[field])):
                found[f.pattern].append(f)
            for f in self._scan_regexes(field, texts[field]):
                found[f.pattern].append(f)
        touched = self._touched(found)
        matched: dict[str, tuple[Hit, ...]] = {}
        verdicts = []
        for tid in sorted(touched, key=self._rank.__getitem__):
            topic = self.rules.topics[self._rank[tid]]
            hits, reason = _Evaluation(self, topic, found, texts, matched).run()
            if not reason:
                matched[tid] = hits
            verdicts.append(Verdict(tid, topic.name, not reason, reason or "matched", hits))
        return verdicts


def _key(term: WordTerm) -> tuple:
    return ("re:", term.source) if isinstance(term, RegexTerm) else term.words


def _phrase_at(words: tuple[tuple[str, bool], ...], tokens: list[Token], i: int) -> bool:
    if i + len(words) > len(tokens):
        return False
    for (word, is_prefix), tok in zip(words, tokens[i:], strict=False):
        if not (tok.norm.startswith(word) if is_prefix else tok.norm == word):
            return False
    return True


class _Evaluation:
    """Decides one topic from the hits found in one article."""

    def __init__(self, m: Matcher, topic: Topic, found: dict, texts: dict, matched: dict) -> None:
        self.m, self.topic, self.found, self.texts, self.matched = m, topic, found, texts, matched
        self.excluded = [f for p in topic.exclude for f in found.get(m._ids[_key(p)], ())]
        positive = [topic.any, *topic.all]
        self.own_labels = {t.label for g in positive for t in g if not isinstance(t, TopicRef)}

    def hits(self, terms: tuple[Term, ...]) -> list[Hit]:
        out: list[Hit] = []
        for term in terms:
            if isinstance(term, TopicRef):
                out.extend(self.matched.get(term.topic_id, ()))
                continue
            for f in self.found.get(self.m._ids[_key(term)], ()):
                if f.field in self.topic.fields and not self._is_excluded(f):
                    text = self.texts[f.field][f.start : f.end]
                    out.append(Hit(term.label, f.field, f.start, f.end, text))
        return out

    def _is_excluded(self, f: _Found) -> bool:
        return any(
            x.field == f.field and x.start <= f.start and f.end <= x.end for x in self.excluded
        )

    def run(self) -> tuple[tuple[Hit, ...], str]:
        """The hits, and an empty reason when the topic matched, else why it did not."""
        t = self.topic
        any_hits = self.hits(t.any)
        group_hits = [self.hits(g) for g in t.all]
        hits = _outermost([*any_hits, *(h for g in group_hits for h in g)])
        if t.any and not any_hits:
            return tuple(hits), "no 'any' term hit (only excluded or out-of-scope ones)"
        missing = [i for i, g in enumerate(group_hits) if not g]
        if missing:
            return tuple(hits), f"'all' group {missing[0] + 1} has no hit"
        vetoes = self.hits(t.none)
        if vetoes:
            return tuple(hits), f"vetoed by 'none' term {vetoes[0].term!r} ({vetoes[0].text!r})"
        # min_hits counts the topic's own words; a referenced topic satisfies its group
        # (and its hits explain the match) but does not add to the score, unless the
        # topic is made of references only.
        own = [h for h in hits if h.term in self.own_labels] if self.own_labels else hits
        score = sum(TITLE_WEIGHT if h.field == "title" else 1 for h in own)
        if score < t.min_hits:
            return tuple(hits), f"score {score} is below min_hits {t.min_hits}"
        return tuple(hits), ""


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop duplicate hits and hits inside a longer hit, in text order."""
    unique = sorted(set(hits), key=lambda h: (FIELDS.index(h.field), h.start, -h.end))
    out: list[Hit] = []
    for h in unique:
        inside = any(o.field == h.field and o.start <= h.start and h.end <= o.end for o in out)
        if not inside:
            out.append(h)
    return out
