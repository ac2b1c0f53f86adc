"""Rules edited in the browser: validated as the file is, and tried on past news.

The text is checked by exactly the parser a hand edit of rules.yaml goes through
(``parse_text`` + ``parse_rules``), so the console shows the same error messages;
saving writes it atomically (``write_atomically``), comments and all, and the
service's ``LiveRules`` picks it up at once. "Try" runs the rules in force and the
edited ones over the archive (recent articles, matched or not) in a thread: the
matcher is pure Python and the run is bounded by ``TRY_LIMIT`` articles.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.edit import write_atomically
from bot.config.yamlfile import parse_text
from bot.core.models import Article
from bot.rules.file import parse_rules
from bot.rules.matcher import Matcher
from bot.rules.model import RuleSet
from bot.store.archive import ArchiveStore

# The most recent archived articles "Try" reads: matching is ~0.4-0.8 ms an article and
# rules (bench/console_bench.py), so a try takes seconds, not minutes, on 2 cores.
TRY_LIMIT = 5_000
SHOWN = 50  # examples listed per side


@dataclass(frozen=True, slots=True)
class Change:
    """One article whose topics differ under the edited rules."""

    archive_id: int
    title: str
    url: str
    source: str
    gained: tuple[str, ...]
    lost: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trial:
    """What the edited rules would have done to the archive."""

    articles: int
    newly: list[Change] = field(default_factory=list)
    no_longer: list[Change] = field(default_factory=list)
    newly_count: int = 0
    no_longer_count: int = 0
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def topics(self) -> list[str]:
        """Every topic in either count, in order of first appearance."""
        return list(dict.fromkeys([*self.before, *self.after]))


def text_hash(text: str) -> str:
    """A version stamp for the rules text the editor was opened on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_rules(text: str, path: Path) -> RuleSet:
    """The rules in ``text`` as a file at ``path`` would give them; ConfigError as the file's."""
    data, lines = parse_text(text, path)
    return parse_rules(data, path, lines)


def save_rules(text: str, path: Path) -> RuleSet:
    """Validate and write ``text`` as the rules file (atomically, keeping its mode)."""
    rules = check_rules(text, path)
    write_atomically(path, text if text.endswith("\n") else text + "\n")
    return rules


class Baseline:
    """What the rules in force match in each archived article, kept between tries.

    Trying edit after edit against the same rules in force halves the work: only the
    edited rules are matched again. A new Matcher (the rules changed) starts afresh.
    """

    def __init__(self) -> None:
        self._matcher: Matcher | None = None
        self._topics: dict[int, frozenset[str]] = {}
        self._lock = threading.Lock()

    def topics(self, matcher: Matcher, archive_id: int, article: Article) -> frozenset[str]:
        """The topics ``matcher`` finds in the article (cached for this matcher)."""
        with self._lock:
            if matcher is not self._matcher:
                self._matcher, self._topics = matcher, {}
            found = self._topics.get(archive_id)
        if found is None:
            found = frozenset(m.topic_id for m in matcher.match(article))
            with self._lock:
                if matcher is self._matcher and len(self._topics) < 4 * TRY_LIMIT:
                    self._topics[archive_id] = found
        return found


def try_rules(
    current: Matcher, edited: RuleSet, archive: ArchiveStore, baseline: Baseline | None = None
) -> Trial:
    """Match the archive with the rules in force and the edited ones; compare (blocking)."""
    start = time.monotonic()
    baseline = baseline or Baseline()
    new = Matcher(edited)
    before, after = Counter(), Counter()
    newly, no_longer = [], []
    counts = [0, 0]
    n = 0
    for archive_id, article, _stored in archive.each():
        if n >= TRY_LIMIT:
            break
        n += 1
        old_topics = baseline.topics(current, archive_id, article)
        new_topics = {m.topic_id for m in new.match(article)}
        before.update(old_topics)
        after.update(new_topics)
        if old_topics == new_topics:
            continue
        change = Change(
            archive_id,
            article.title,
            article.url,
            article.source,
            tuple(sorted(new_topics - old_topics)),
            tuple(sorted(old_topics - new_topics)),
        )
        if change.gained:
            counts[0] += 1
            if len(newly) < SHOWN:
                newly.append(change)
        if change.lost:
            counts[1] += 1
            if len(no_longer) < SHOWN:
                no_longer.append(change)
    order = [t.id for t in edited.topics] + [t.id for t in current.rules.topics]
    keys = list(dict.fromkeys(order))
    return Trial(
        articles=n,
        newly=newly,
        no_longer=no_longer,
        newly_count=counts[0],
        no_longer_count=counts[1],
        before={k: before.get(k, 0) for k in keys},
        after={k: after.get(k, 0) for k in keys},
        seconds=time.monotonic() - start,
    )
