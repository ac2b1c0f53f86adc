"""The shipped rules on the labelled corpus: every expected match, no near-miss.

Pages go through the real extractor (trafilatura in the worker pool), so a topic
mentioned only in a sidebar teaser must not fire.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.analysis.page import read_job
from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings
from bot.core.models import Article
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher
from tests.corpus_eval import CORPUS, RULES, load_cases, score

CASES = load_cases()
PAGES = yaml.safe_load((CORPUS / "pages.yaml").read_text(encoding="utf-8"))["pages"]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(RULES))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_labelled_article(matcher: Matcher, case) -> None:
    found = {m.topic_id: m for m in matcher.match(case.article)}
    assert set(found) == case.expect, {t: [h.text for h in m.hits] for t, m in found.items()}


def test_corpus_has_the_required_near_misses() -> None:
    ids = " ".join(c.id for c in CASES)
    for near_miss in ("kyrgyz", "kazan", "tokaj", "cst", "kazakova"):
        assert near_miss in ids.lower(), near_miss
    assert sum(1 for c in CASES if not c.expect) >= 15


def test_precision_and_recall_are_perfect_on_the_corpus(matcher: Matcher) -> None:
    for topic, (tp, fp, fn) in score(matcher, CASES).items():
        assert tp > 0 and fp == 0 and fn == 0, topic


@pytest.fixture(scope="module")
def workers() -> WorkerPool:
    pool = WorkerPool(ExtractSettings(workers=1))
    yield pool
    pool.close()


@pytest.mark.parametrize("page", PAGES, ids=[p["id"] for p in PAGES])
async def test_saved_page_after_extraction(matcher: Matcher, workers: WorkerPool, page) -> None:
    html = (CORPUS / page["file"]).read_bytes()
    bare = Article(page["url"], page["title"], "", "", "corpus", None)
    read, note = await workers.run(read_job, (bare, html, page["url"]))
    assert not note and read.text_source == "page"
    body = read.body
    for text in page.get("must_contain", ()):
        assert text in body
    for text in page.get("must_not_contain", ()):
        assert text not in body
    article = Article(page["url"], page["title"], "", body, "corpus", None)
    assert {m.topic_id for m in matcher.match(article)} == set(page["expect"])


def test_corpus_files_exist() -> None:
    assert all((CORPUS / p["file"]).is_file() for p in PAGES)
    assert Path(RULES).is_file()
