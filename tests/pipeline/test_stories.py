"""One alert per story: the same wire report in three outlets is one alert, updated in place."""

from __future__ import annotations

import pytest

from tests.helpers.chat import say
from tests.helpers.harness import OUTLET_COPY, WIRE, Harness, rss, story

CHAT = 880


def page(intro: str, body: list[str], outro: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return (
        "<html><head><title>t</title></head><body><nav><a href='/'>Home</a> <a href='/w'>Welt"
        "</a></nav><main><article><h1>OVKS zieht ab</h1>"
        f"<p>{intro}</p>{paragraphs}<p>{outro}</p></article></main>"
        "<footer>Impressum · Datenschutz · Kontakt</footer></body></html>"
    )


@pytest.mark.slow  # three copies published one after another, a cycle or more each
async def test_three_copies_of_a_wire_story_give_one_alert_naming_all_sources(
    harness: Harness,
) -> None:
    site, api = harness.site, harness.telegram
    _, wire = story(WIRE)
    _, outlet = story(OUTLET_COPY)  # another headline and intro, a cut, a changed word
    copies = {
        "a": page("Almaty (nbt) –", wire, "(nbt, 13.1.2022)"),
        "b": page("Wien –", outlet, "Mehr zum Thema: Zentralasien."),
        "c": page("Zürich –", [p.replace("mehr als 160", "über 160") for p in wire], "nbt/NZZ"),
    }
    for name in copies:
        site.route(f"/{name}.xml", rss([]))
    harness.write([f"/{name}.xml" for name in copies])
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)
        await say(harness, CHAT, "/subscribe csto")
        for n, (name, html) in enumerate(copies.items()):
            site.route(f"/story-{name}", html, content_type="text/html; charset=utf-8")
            item = {"title": f"OVKS beginnt Abzug ({name})", "link": site.url(f"/story-{name}")}
            site.route(f"/{name}.xml", rss([item]))
            # the first copy is alerted; each later one updates that alert in place
            await harness.wait_sent(lambda a, n=n: _names(a) == n and _alerts(a) == 1)
        done = service.pipeline.polls
        await service.pipeline.wait_polls(done + 2)
    alerts = [m for m in api.sent if m["chat_id"] == CHAT and "<a href=" in m["text"]]
    assert len(alerts) == 1, "one alert per subscriber per story"
    final = api.edits[-1]["text"] if api.edits else alerts[0]["text"]
    others = final.split("Also reported by: ")[1]
    first = next(n for n in copies if f"Feed /{n}.xml" in alerts[0]["text"])
    assert set(others.removesuffix("</i>").split(", ")) == {
        f'<a href="{site.url(f"/story-{n}")}">Feed /{n}.xml</a>' for n in copies if n != first
    }, "the other outlets, each a link to its own copy"


def _alerts(api) -> int:
    return len([m for m in api.sent if m["chat_id"] == CHAT and "<a href=" in m["text"]])


def _names(api) -> int:
    """How many other outlets the newest version of the alert names."""
    versions = [m["text"] for m in [*api.sent, *api.edits] if "<a href=" in m["text"]]
    texts = [e["text"] for e in api.edits] or versions
    if not texts or "Also reported by: " not in texts[-1]:
        return 0
    return len(texts[-1].split("Also reported by: ")[1].split(", "))
