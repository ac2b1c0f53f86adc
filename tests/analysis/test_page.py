"""The per-page worker job says what each of its steps cost, so nobody has to patch it."""

from __future__ import annotations

import asyncio

import pytest

from bot.analysis.page import Analysis, PageJob, RulesBlob, analyze
from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings
from bot.core.models import Article
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher
from tests.helpers.harness import CORPUS, ROOT

URL = "http://127.0.0.1/a/1"


@pytest.fixture(scope="module")
def rules() -> RulesBlob:
    return RulesBlob.of(Matcher(load_rules(ROOT / "config" / "rules.yaml")))


def job(rules: RulesBlob, page: bytes) -> PageJob:
    return PageJob(
        Article(URL, "Nachrichten", "", "", "Outlet", None), rules, page, URL, "text/html"
    )


async def test_a_worker_returns_the_cpu_of_each_step(rules: RulesBlob) -> None:
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    workers = WorkerPool(ExtractSettings(workers=1))
    try:
        async with asyncio.timeout(60):
            got: Analysis = await workers.run(analyze, job(rules, page))
    finally:
        workers.close()
    assert got.article.text_source == "page" and got.matches
    cpu = got.cpu
    assert cpu.prefilter > 0 and cpu.extract > 0 and cpu.match > 0 and cpu.fingerprint > 0
    assert cpu.extract > cpu.match, "trafilatura costs more than matching its output"


def test_a_page_the_prefilter_rules_out_costs_only_the_prefilter(rules: RulesBlob) -> None:
    page = b"<html><body><article>" + b"<p>Wetter in Lissabon, sonnig.</p>" * 50 + b"</article>"
    got = analyze(job(rules, page + b"</body></html>"))
    assert got.article.text_source == "skipped"
    assert got.cpu.prefilter > 0
    assert (got.cpu.extract, got.cpu.canonical, got.cpu.match) == (0, 0, 0)
