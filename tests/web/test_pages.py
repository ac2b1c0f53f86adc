"""The console's pages over real articles: archive and search, rules tried and saved, feeds."""

from __future__ import annotations

import re

import httpx

from bot.store.archive import ArchiveQuery
from tests.helpers.chat import say
from tests.helpers.harness import Harness
from tests.web.console import ADMIN, RULES, STORIES, archived, serve_stories, setup_news

CHAT = 900


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _base(page: str) -> str:
    return re.search(r'name="base" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def test_archive_try_on_past_news_save_and_live(harness: Harness) -> None:
    port = setup_news(harness)
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)
        await say(harness, CHAT, "/subscribe weather")
        serve_stories(harness, STORIES)
        await archived(service, len(STORIES))
        assert service.store.archive.count(ArchiveQuery()) == 2  # CSTO and rain matched
        token = service.store.logins.issue(ADMIN)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            await web.get("/login", params={"token": token})
            page = (await web.get("/archive")).text
            assert "2 articles, newest first" in page
            assert "<mark>CSTO</mark>" in page and "<mark>rain</mark>" in page
            assert "Storm hits" not in page  # it matched nothing
            every = (await web.get("/archive", params={"all": "1"})).text
            assert "Storm hits the Baltic coast" in every
            found = (await web.get("/archive", params={"q": "peacekeep"})).text
            assert "troops leave Almaty" in found and "floods Kyiv" not in found
            weather = (await web.get("/archive", params={"topic": "weather"})).text
            assert "floods Kyiv streets" in weather and "troops leave" not in weather
            await harness.wait_sent(lambda a: any(m["chat_id"] == CHAT for m in a.sent[1:]))
            rows = (await web.get("/archive", params={"topic": "weather"})).text
            assert f"chat {CHAT}: sent" in rows

            editor = (await web.get("/rules")).text
            edited = RULES.replace("      - rain\n", "      - storm\n")
            form = {"csrf": _csrf(editor), "base": _base(editor), "rules": edited}
            tried = await web.post("/rules/try", data=form)
            assert tried.status_code == 200
            text = tried.text
            assert "Over 4 archived articles" in text
            newly = text[text.index('id="newly"') : text.index('id="no-longer"')]
            no_longer = text[text.index('id="no-longer"') :]
            assert "Storm hits the Baltic coast" in newly and "Rain floods" not in newly
            assert "Rain floods Kyiv streets" in no_longer
            assert re.search(r"<td>weather</td><td>1</td><td>1</td>", text)
            assert service.rules.matcher.rules.get("weather").any[0].label == "rain"

            bad = await web.post("/rules/try", data={**form, "rules": "topics: [{id: 1}]\n"})
            assert bad.status_code == 422 and "rules.yaml" in bad.text

            saved = await web.post("/rules/save", data=form)
            assert saved.status_code == 200 and "Saved: the new rules are in force." in saved.text
            assert "keep this comment" in (harness.config / "rules.yaml").read_text()
            assert service.rules.matcher.rules.get("weather").any[0].label == "storm"
            stale = await web.post("/rules/save", data=form)  # opened before the save
            assert stale.status_code == 422 and "changed since you opened" in stale.text

            serve_stories(harness, [("Storm warning for Riga", "Another storm is coming.")], 10)
            await archived(service, len(STORIES) + 1)
            live = (await web.get("/archive", params={"topic": "weather"})).text
            assert "<mark>Storm</mark> warning for Riga" in live  # the saved rule is live


async def test_feeds_page_health_and_edits_through_feeds_yaml(harness: Harness) -> None:
    port = setup_news(harness)
    feeds_file = harness.config / "feeds.yaml"
    feeds_file.write_text("# my feeds: keep this comment\n" + feeds_file.read_text())
    harness.site.route(
        "/other.xml", "<rss version='2.0'><channel><title>Other</title></channel></rss>"
    )
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)
        token = service.store.logins.issue(ADMIN)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            await web.get("/login", params={"token": token})
            page = (await web.get("/feeds")).text
            assert "Feed /feed.xml" in page and ">ok<" in page.replace("\n", "")
            assert "0 in 7 days" in page
            csrf = _csrf(page)
            other = harness.site.url("/other.xml")
            added = await web.post("/feeds/add", data={"csrf": csrf, "url": other, "name": ""})
            assert "Added Other." in added.text
            assert other in feeds_file.read_text() and "keep this comment" in feeds_file.read_text()
            again = await web.post("/feeds/add", data={"csrf": csrf, "url": other})
            assert "already in the list" in again.text
            off = await web.post(
                "/feeds/edit", data={"csrf": csrf, "url": other, "action": "disable"}
            )
            assert "disabled" in off.text and "enabled: false" in feeds_file.read_text()
            assert other not in {f.url for f in service.store.feeds.active()}
            gone = await web.post(
                "/feeds/edit", data={"csrf": csrf, "url": other, "action": "remove"}
            )
            assert gone.status_code == 200 and other not in feeds_file.read_text()
            for path in ("/topics", "/subscribers"):
                assert (await web.get(path)).status_code == 200
