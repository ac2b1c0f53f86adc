"""What one cycle did, counted by the process that did it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.core.models import Article, TopicMatch


@dataclass
class CycleReport:
    """What one cycle did, for logs, ``once``, metrics and tests.

    Counted by this process as it works, never read back from the store, so
    replicas sharing a database each report only their own work.
    """

    feeds: int = 0
    not_modified: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    failed_kinds: dict[str, str] = field(default_factory=dict)
    new_items: int = 0
    matched: int = 0  # articles this process stored (they matched a topic)
    alerts: int = 0
    by_source: Counter[str] = field(default_factory=Counter)  # stored articles by text_source
    by_topic: Counter[str] = field(default_factory=Counter)  # their topic matches by topic
    # Items whose page could not be analysed, by outcome: retry, given_up, quarantined.
    unanalysed: Counter[str] = field(default_factory=Counter)

    def stored(self, article: Article, found: list[TopicMatch], alerts: int) -> None:
        """Count one article this process stored, with its matches and alerts."""
        self.matched += 1
        self.alerts += alerts
        self.by_source[article.text_source] += 1
        self.by_topic.update(m.topic_id for m in found)
