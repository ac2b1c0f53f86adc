"""Precision and recall of the shipped rules on the labelled corpus in tests/corpus/.

Run ``python -m tests.corpus_eval`` to print the per-topic table; the test suite
asserts the same corpus case by case (tests/test_corpus.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.models import Article
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
RULES = HERE.parent / "config" / "rules.yaml"


@dataclass(frozen=True)
class Case:
    """One labelled article and the topics it must match, exactly."""

    id: str
    article: Article
    expect: frozenset[str]


def load_cases() -> list[Case]:
    """The labelled articles (text given inline in articles.yaml)."""
    data = yaml.safe_load((CORPUS / "articles.yaml").read_text(encoding="utf-8"))
    return [
        Case(
            a["id"],
            Article(
                f"https://corpus.test/{a['id']}",
                a.get("title", ""),
                a.get("summary", ""),
                a.get("body", ""),
                "corpus",
                None,
            ),
            frozenset(a.get("expect") or ()),
        )
        for a in data["articles"]
    ]


def score(matcher: Matcher, cases: list[Case]) -> dict[str, tuple[int, int, int]]:
    """Per topic: (true positives, false positives, false negatives)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for case in cases:
        got = {m.topic_id for m in matcher.match(case.article)}
        for t in got & case.expect:
            tp[t] += 1
        for t in got - case.expect:
            fp[t] += 1
        for t in case.expect - got:
            fn[t] += 1
    return {t: (tp[t], fp[t], fn[t]) for t in matcher.rules.ids}


def main() -> None:
    """Print precision and recall per topic."""
    cases = load_cases()
    table = score(Matcher(load_rules(RULES)), cases)
    print(f"{len(cases)} labelled articles, rules from {RULES.name}")
    print(f"{'topic':<20} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for topic, (tp, fp, fn) in table.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{topic:<20} {tp:>4} {fp:>4} {fn:>4} {precision:>10.2f} {recall:>8.2f}")


if __name__ == "__main__":
    main()
