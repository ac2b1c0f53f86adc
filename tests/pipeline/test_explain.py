"""``test-rules`` and ``/test`` read a page the way the pipeline does: its HTML, its charset."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings, FetchSettings
from bot.core.models import Article
from bot.ingest.fetch import Fetcher
from bot.pipeline.explain import load_article
from tests.fakes.web import LoopbackSite

TITLE = "Токаев: миротворцы ОДКБ покинут Казахстан"
BODY = [
    "Президент Казахстана Касым-Жомарт Токаев заявил, что миротворческие силы ОДКБ "
    "начнут покидать страну через два дня, а полностью выведут войска за десять дней.",
    "В Алматы после беспорядков продолжает действовать комендантский час, сообщили "
    "в акимате города, банки и магазины возобновили работу.",
]


def page(*, meta_charset: str | None, late_body: bool = False) -> str:
    head = f"<meta charset='{meta_charset}'>" if meta_charset else ""
    noise = ""
    if late_body:  # analytics scripts and comments before <body>, as real pages have
        noise = "<!-- build 2022-01-11 -->" + "<script>var x = 1;</script>" * 300
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in BODY)
    return (
        f"<!-- generated page -->\n{noise}<html><head>{head}<title>{TITLE}</title></head>"
        f"<body><article><h1>{TITLE}</h1>{paragraphs}</article></body></html>"
    )


@pytest.fixture
async def tools():
    fetcher = Fetcher(FetchSettings(allow_loopback=True, per_host_interval_seconds=0))
    workers = WorkerPool(ExtractSettings(workers=1))
    yield fetcher, workers
    workers.close()
    await fetcher.aclose()


def assert_read_as_page(article: Article) -> None:
    assert article.title == TITLE
    assert article.text_source == "page"
    assert "комендантский час" in article.body and len(article.body) < 1000


async def test_a_page_that_opens_body_late_is_read_as_html(tools, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(page(meta_charset="utf-8", late_body=True), encoding="utf-8")
    assert_read_as_page(await load_article(str(path), *tools))


async def test_a_cyrillic_title_is_decoded_by_the_declared_charset(tools, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(page(meta_charset="windows-1251").encode("cp1251"))
    assert_read_as_page(await load_article(str(path), *tools))


async def test_a_utf8_title_without_any_declaration_is_decoded(tools, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(page(meta_charset=None).encode("utf-8"))
    assert_read_as_page(await load_article(str(path), *tools))


async def test_a_url_is_fetched_and_decoded_by_its_content_type(tools, site: LoopbackSite) -> None:
    site.route(
        "/ru",
        page(meta_charset=None, late_body=True).encode("cp1251"),
        content_type="text/html; charset=windows-1251",
    )
    assert_read_as_page(await load_article(site.url("/ru"), *tools))


async def test_plain_text_stays_plain_text(tools, tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Präsident Tokajew: <Kasachstan> bleibt ruhig.", encoding="utf-8")
    article = await load_article(str(path), *tools)
    assert article.body == "Präsident Tokajew: <Kasachstan> bleibt ruhig."
    assert article.text_source == "text"
