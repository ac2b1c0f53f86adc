"""Matcher benchmark: per-article cost with 10 and with 1,000 topics.

Run: ``python bench/match_bench.py``. It prints figures; it asserts nothing
(a benchmark is not a test). All topics compile into one index, so the cost per
article should stay nearly flat as topics are added.

Synthetic topics each have 12 whole-word terms, 4 wildcard terms and one
two-word phrase drawn from a pseudo-random vocabulary (plus the 5 shipped
topics), so they touch real text about as often as real rules do.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.models import Article  # noqa: E402
from bot.rules.file import parse_rules  # noqa: E402
from bot.rules.matcher import Matcher  # noqa: E402

SHIPPED = ROOT / "config" / "rules.yaml"
ARTICLES = ROOT / "tests" / "corpus" / "articles.yaml"


def synthetic_rules(count: int, rng: random.Random) -> dict:
    """The shipped rules plus ``count - 5`` synthetic topics."""
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    letters = "abcdefghijklmnopqrstuvwxyzабвгдежзиклмнопрстуф"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(20000)]
    for i in range(count - len(data["topics"])):
        words = rng.sample(vocab, 18)
        terms = words[:12] + [w[:5] + "*" for w in words[12:16]] + [f"{words[16]} {words[17]}"]
        data["topics"].append(
            {"id": f"t{i}", "name": f"Topic {i}", "description": "synthetic", "any": terms}
        )
    return data


def articles() -> list[Article]:
    """The labelled corpus, repeated to ~200 articles of realistic length."""
    raw = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))["articles"]
    base = [
        Article("u", a.get("title", ""), a.get("summary", ""), a.get("body", "") * 4, "s", None)
        for a in raw
    ]
    return (base * (200 // len(base) + 1))[:200]


def per_article_us(matcher: Matcher, docs: list[Article], rounds: int = 5) -> tuple[float, float]:
    """Median and best per-article time over ``rounds`` passes, in microseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for doc in docs:
            matcher.match(doc)
        times.append((time.perf_counter() - start) / len(docs) * 1e6)
    return statistics.median(times), min(times)


def main() -> None:
    rng = random.Random(840)
    docs = articles()
    chars = statistics.mean(len(d.title) + len(d.summary) + len(d.body) for d in docs)
    print(f"{len(docs)} articles, mean {chars:.0f} characters each")
    print(f"{'topics':>7} {'terms':>7} {'compile ms':>11} {'median µs/article':>18} {'best':>8}")
    for count in (10, 100, 1000):
        data = synthetic_rules(count, rng)
        start = time.perf_counter()
        matcher = Matcher(parse_rules(data, SHIPPED, {}))
        compile_ms = (time.perf_counter() - start) * 1000
        terms = len(matcher._patterns)
        median, best = per_article_us(matcher, docs)
        print(f"{count:>7} {terms:>7} {compile_ms:>11.1f} {median:>18.0f} {best:>8.0f}")


if __name__ == "__main__":
    main()
