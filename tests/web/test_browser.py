"""The console in a real headless browser: Debian's chromium, driven by Playwright.

Logs in through a /console link from the fake Bot API, searches the archive,
edits a rule, tries it on past news, saves it and sees it live. The screenshots
it takes go to pytest's temporary folder; with NEWSBOT_SCREENSHOTS=docs/console
they become the README's (so a plain test run leaves the checkout clean). Never a
browser Playwright downloads: without /usr/bin/chromium (``apt-get install chromium``;
.ci/run does) it skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.chat import say
from tests.helpers.harness import ROOT, Harness
from tests.web.console import RULES, STORIES, archived, login_link, serve_stories, setup_news

CHROMIUM = Path(os.environ.get("NEWSBOT_TEST_CHROMIUM", "/usr/bin/chromium"))
SHOTS_TO = os.environ.get("NEWSBOT_SCREENSHOTS")  # e.g. docs/console, to refresh the README's
CHAT = 901

pytestmark = pytest.mark.slow


def _browser_or_skip() -> object:
    if not CHROMIUM.exists() and not shutil.which(str(CHROMIUM)):
        pytest.skip(
            f"no browser at {CHROMIUM}: `apt-get install chromium` (or set NEWSBOT_TEST_CHROMIUM)"
        )
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("Playwright's Python package is not installed (pip install -e '.[test]')")
    return async_playwright


async def test_log_in_search_edit_try_save_and_see_the_rule_live(
    harness: Harness, tmp_path: Path
) -> None:
    async_playwright = _browser_or_skip()
    shots = ROOT / SHOTS_TO if SHOTS_TO else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    port = setup_news(harness)
    async with harness.running() as service, async_playwright() as pw:  # type: ignore[operator]
        await service.pipeline.wait_polls(1)
        await say(harness, CHAT, "/subscribe weather")
        serve_stories(harness, STORIES)
        await archived(service, len(STORIES))
        link = await login_link(harness)
        assert link is not None and link.startswith(f"http://127.0.0.1:{port}/login?token=")
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(link)
            assert page.url.endswith("/archive")
            await page.get_by_label("Search").fill("peacekeep")
            await page.get_by_role("button", name="Search").click()
            await page.wait_for_url("**/archive?q=peacekeep*")
            rows = page.locator("#archive tr.article")
            assert await rows.count() == 1
            assert "troops leave Almaty" in await rows.first.inner_text()
            assert await rows.first.locator("mark").first.inner_text() == "CSTO"
            await page.goto(f"http://127.0.0.1:{port}/archive")
            await page.screenshot(path=str(shots / "archive.png"), full_page=True)

            await page.goto(f"http://127.0.0.1:{port}/feeds")
            assert "Feed /feed.xml" in await page.locator("#feeds").inner_text()
            await page.screenshot(path=str(shots / "feeds.png"), full_page=True)

            await page.goto(f"http://127.0.0.1:{port}/rules")
            edited = RULES.replace("      - rain\n", "      - rain\n      - storm\n")
            await page.locator("#rules-text").fill(edited)
            await page.locator("#try").click()
            await page.wait_for_selector("#trial")
            assert "Storm hits the Baltic coast" in await page.locator("#newly").inner_text()
            assert "None." in await page.locator("#no-longer").inner_text()
            await page.screenshot(path=str(shots / "try-on-past-news.png"), full_page=True)
            assert "storm" not in (harness.config / "rules.yaml").read_text()  # not saved yet

            await page.locator("#save").click()
            await page.wait_for_selector("#saved")
            assert "- storm" in (harness.config / "rules.yaml").read_text()
            assert "keep this comment" in (harness.config / "rules.yaml").read_text()

            serve_stories(harness, [("Storm warning for Riga", "Another storm is coming.")], 10)
            await archived(service, len(STORIES) + 1)
            await harness.wait_sent(
                lambda a: any(
                    "Storm warning for Riga" in m["text"] for m in a.sent if m["chat_id"] == CHAT
                )
            )
            await page.goto(f"http://127.0.0.1:{port}/archive?topic=weather")
            live = await page.locator("#archive").inner_text()
            assert "Storm warning for Riga" in live and f"chat {CHAT}: sent" in live
            await page.goto(f"http://127.0.0.1:{port}/topics")
            # The vendored Chart.js drew the chart: one data set per topic, 30 days each.
            await page.wait_for_function("window.Chart && Chart.getChart('topics-chart')")
            drawn = await page.evaluate(
                "(() => { const c = Chart.getChart('topics-chart').data;"
                " return [c.labels.length, c.datasets.map(d => d.label)]; })()"
            )
            assert drawn == [30, ["CSTO", "Weather"]]
        finally:
            await browser.close()
