"""The real-world page sets (../shared/corpora/realworld/pages): newsbot reads them as well as
plain trafilatura or better, and a page arriving under many URLs is read in full each time.

The scores are computed here, on every run, by tests/extraction_eval.py (which prints the
table also found in docs/fidelity.md); nothing is compared with a stored figure.
"""

from __future__ import annotations

import pytest

from bot.analysis.page import read_job
from bot.analysis.pagetext import page_title
from bot.analysis.pool import WorkerPool
from bot.config.settings import ExtractSettings, FetchSettings
from bot.core.models import Article
from bot.ingest.fetch import Fetcher
from bot.ingest.sniff import looks_like_html
from tests.extraction_eval import SETS, load_pages, read_all, score, table
from tests.fakes.web import LoopbackSite
from tests.feeds_eval import MOJIBAKE
from tests.helpers.corpora import PAGES, needs

pytestmark = needs(PAGES / "scrapinghub" / "ground-truth.json.gz")


@pytest.mark.slow
def test_newsbot_reads_both_page_sets_at_least_as_well_as_plain_trafilatura() -> None:
    pages = load_pages()
    assert len(pages) == 291
    readings = read_all(pages)
    print("\n".join(table(pages, readings)))
    for which in SETS:
        mine = score(pages, readings["newsbot"], which)
        plain = score(pages, readings["plain trafilatura"], which)
        assert mine.f1 >= plain.f1, (which, mine, plain)


async def test_one_page_under_ten_urls_gives_ten_articles_with_full_text(
    site: LoopbackSite,
) -> None:
    """Syndicated copies: the same bytes under ten addresses, read by one worker process."""
    page = next(p for p in load_pages(["scrapinghub"]) if len(p.truth) > 2000)
    raw = page.html()
    for n in range(10):
        site.route(f"/copy/{n}", raw, content_type="text/html; charset=utf-8")
    fetcher = Fetcher(FetchSettings(allow_loopback=True, per_host_interval_seconds=0))
    workers = WorkerPool(ExtractSettings(workers=1))
    try:
        lengths = []
        for n in range(10):
            fetched = await fetcher.fetch_page(site.url(f"/copy/{n}"))
            bare = Article(fetched.final_url, "", "", "", "copy", None, "feed")
            article, note = await workers.run(read_job, (bare, fetched.body, fetched.final_url))
            assert note == "" and article.text_source == "page", note
            lengths.append(len(article.body))
    finally:
        workers.close()
        await fetcher.aclose()
    assert min(lengths) == max(lengths) > len(page.truth) * 0.8


def test_every_page_is_taken_for_html_and_its_title_decodes() -> None:
    """What test-rules and /test rely on: two pages open <body late, 21 titles are UTF-8
    that lxml would read as Latin-1 without the pipeline's charset handling."""
    pages = load_pages()
    assert [p.id for p in pages if not looks_like_html(p.html())] == []
    titles = {p.id: page_title(p.html()) for p in pages}
    assert {i: t for i, t in titles.items() if MOJIBAKE.search(t)} == {}
    assert sum(1 for t in titles.values() if t) > 280
