"""The real-world feeds (../shared/corpora/realworld/feeds) through newsbot and plain feedparser.

Each file is served over loopback with the Content-Type and the special serving
its manifest names (an HTTP status, a redirect, gzip), fetched by newsbot's own
Fetcher, parsed by ``parse_feed`` and counted as the new items a fresh store
finds (``ItemStore.unseen``, where items used to merge); the same bytes go to
plain ``feedparser``
(or, for JSON Feed, which feedparser does not read, to ``json``). Every difference
in the number of items is then explained, or reported as unexplained. Run
``python -m tests.feeds_eval`` to print the table; tests/ingest/test_realworld_feeds.py
asserts it.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import feedparser

from bot.config.settings import FetchSettings
from bot.core.errors import FeedError
from bot.core.models import Entry
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import parse_feed
from bot.ingest.sniff import non_latin_encoding
from bot.ingest.text import html_to_text
from bot.store import Store
from tests.fakes.web import LoopbackSite
from tests.helpers.corpora import FEEDS

ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# UTF-8 read as Latin-1/cp1252 ("Ã©", "Ð°", "â€™"), or bytes that were not text at all.
C1 = re.compile("[\u0080-\u009f\ufffd]")
MOJIBAKE = re.compile("[ÃÂÐÑâ][\u0080-\u00bf\u0152-\u02dc\u2013-\u203a]|\ufffd")


@dataclass
class FeedOutcome:
    """One feed file: what feedparser saw, what newsbot made of it, and why they differ."""

    id: str
    kind: str
    serve: str  # how it was served, when not plainly
    plain: int  # items plain feedparser (or json) finds in the same bytes
    newsbot: int | None  # entries newsbot keeps, None when it reported an error
    error: str = ""
    duplicates: int = 0  # items identical in id, link, title and text: one item
    empty: int = 0  # items with no id, link, title or text
    dirty_titles: list[str] = field(default_factory=list)
    lost_titles: list[str] = field(default_factory=list)  # plain's titles newsbot lacks
    redetected: str = ""  # the encoding newsbot detected where feedparser guessed
    explanation: str = ""

    @property
    def explained(self) -> bool:
        return bool(self.explanation) and not self.dirty_titles and not self.lost_titles


def manifest() -> list[dict[str, Any]]:
    return json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))


def body_of(spec: dict[str, Any]) -> bytes:
    return gzip.decompress((FEEDS / spec["file"]).read_bytes())


def serve(site: LoopbackSite, spec: dict[str, Any], body: bytes) -> str:
    """Route ``spec`` on ``site``; returns the path newsbot is told to poll."""
    path, options = f"/{spec['id']}", spec.get("serve") or {}
    ctype = spec["content_type"]
    headers = dict(options.get("headers") or {})
    if options.get("gzip"):
        headers["Content-Encoding"] = "gzip"
        site.route(path, gzip.compress(body), content_type=ctype, headers=headers)
    elif options.get("redirect"):
        site.route(path + ".moved", body, content_type=ctype)
        site.redirect(path, site.url(path + ".moved"), status=301)
    else:
        site.route(
            path, body, status=options.get("status", 200), content_type=ctype, headers=headers
        )
    return path


def _served_as(spec: dict[str, Any]) -> str:
    options = spec.get("serve") or {}
    if options.get("status"):
        return f"HTTP {options['status']}"
    if options.get("redirect"):
        return "301 redirect"
    return "gzip" if options.get("gzip") else ""


def _plain_items(body: bytes, spec: dict[str, Any], url: str) -> tuple[list[tuple[str, ...]], str]:
    """(id, link, title, text…) of each item plain feedparser (or json) finds; its encoding."""
    if spec["content_type"].startswith("application/json") or spec["id"].endswith(".json"):
        try:
            doc = json.loads(body, strict=False)
        except ValueError:
            return [], "utf-8"
        items = doc.get("items") if isinstance(doc, dict) else None
        fields = ("id", "url", "title", "summary", "content_html", "content_text")
        found = [
            tuple(str(it.get(f) or "") for f in fields)
            for it in items or []
            if isinstance(it, dict)
        ]
        return found, "utf-8"
    headers = {"content-type": spec["content_type"], "content-location": url}
    d = feedparser.parse(io.BytesIO(body), response_headers=headers)
    found = [
        (
            str(e.get("id") or ""),
            e.get("link") or "",
            e.get("title") or "",
            e.get("summary") or "",
            " ".join(c.get("value", "") for c in e.get("content") or []),
        )
        for e in d.entries
    ]
    return found, d.get("encoding") or "utf-8"


def _title_of(item: tuple[str, ...]) -> str:
    return html_to_text(item[2], 1000)


def _visible(item: tuple[str, ...]) -> bool:
    """Whether a reader would see any title or text (an <img> alone shows none)."""
    return any(html_to_text(part) for part in item[2:])


def _redetected(lost: list[str], found: list[str], body: bytes, read_as: str) -> str:
    """The encoding newsbot detected, if that is all that tells its titles from feedparser's.

    Each of feedparser's titles must be garbled: holding C1 control characters, or
    turned back into bytes (as feedparser read them, or as windows-1252) and read
    as the detected encoding, nearly one of newsbot's titles.
    """
    guessed = non_latin_encoding(body)
    if not guessed or not lost or len(lost) != len(found):
        return ""

    def near(title: str) -> bool:
        if C1.search(title):  # control characters: bytes read in the wrong encoding
            return True
        for codec in dict.fromkeys((read_as, "windows-1252")):
            again = html_to_text(title.encode(codec, "replace").decode(guessed, "replace"))
            if any(SequenceMatcher(None, again, mine).ratio() > 0.8 for mine in found):
                return True
        return False

    return guessed if all(near(t) for t in lost) else ""


def _dirty(entries: tuple[Entry, ...]) -> list[str]:
    return [e.title for e in entries if ENTITY.search(e.title) or MOJIBAKE.search(e.title)]


def explain(out: FeedOutcome) -> str:
    """Why newsbot's count differs from plain feedparser's (empty: it does not, or unexplained)."""
    reasons = []
    if out.newsbot is None:
        if out.serve.startswith("HTTP"):
            return f"{out.serve}: a per-feed error ({out.error})"
        if out.plain == 0:
            return f"no feed in it for either: {out.error}"
        return ""
    if out.duplicates:
        reasons.append(f"{out.duplicates} listed twice (same id, link, title, text)")
    if out.empty:
        reasons.append(f"{out.empty} empty (no id, link, title or visible text)")
    if out.redetected:
        reasons.append(
            f"titles differ: undeclared {out.redetected}, read by feedparser as a Western "
            "encoding (mojibake), detected by newsbot"
        )
    expected = out.plain - out.duplicates - out.empty
    if out.newsbot == expected:
        return "; ".join(reasons) or "same"
    if out.plain == 0 and out.newsbot > 0 and "utf16" in out.id:
        return "UTF-16 without BOM or declaration: feedparser reads nothing, newsbot transcodes"
    return ""


async def poll(
    site: LoopbackSite, fetcher: Fetcher, store: Store, spec: dict[str, Any]
) -> FeedOutcome:
    """One feed through fetch, parse and a fresh store's ``unseen`` (what the pipeline does)."""
    body = body_of(spec)
    path = serve(site, spec, body)
    url = site.url(path)
    plain, read_as = _plain_items(body, spec, url)
    counts = Counter(plain)
    empty = {item for item in counts if not (item[0].strip() or item[1].strip() or _visible(item))}
    out = FeedOutcome(spec["id"], spec["kind"], _served_as(spec), len(plain), None)
    out.empty = sum(counts[item] for item in empty)
    out.duplicates = sum(n - 1 for item, n in counts.items() if item not in empty)
    try:
        result = await fetcher.fetch_feed(url)
        parsed = parse_feed(result.body, result.final_url, result.content_type)
    except FeedError as exc:
        text = str(exc).replace(url + ": ", "").replace(site.url(""), "/")
        out.error = f"{exc.kind}: {text}".replace("|", "/")
    else:
        (feed_id,) = [f.id for f in store.feeds.active() if f.url == url]
        out.newsbot = len(store.items.unseen(feed_id, parsed.entries))
        out.dirty_titles = _dirty(parsed.entries)
        mine = Counter(e.title for e in parsed.entries)
        wanted = Counter(_title_of(item) for item in counts if item not in empty)
        lost = sorted((wanted - mine).elements())
        out.redetected = _redetected(lost, sorted((mine - wanted).elements()), body, read_as)
        out.lost_titles = [] if out.redetected else lost
    out.explanation = explain(out)
    return out


async def evaluate() -> list[FeedOutcome]:
    """Every feed of the manifest, polled over loopback into a fresh store."""
    settings = FetchSettings(
        allow_loopback=True,
        per_host_interval_seconds=0,
        per_host_concurrency=16,
        max_concurrency=16,
        deadline_seconds=10,
    )
    # Parsing runs on the event loop, as in the pipeline: a few feeds at a time, so
    # one big parse never eats another request's deadline.
    turns = asyncio.Semaphore(4)

    async def one(spec: dict[str, Any]) -> FeedOutcome:
        async with turns:
            return await poll(site, fetcher, store, spec)

    specs = manifest()
    with LoopbackSite() as site, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'feeds.sqlite3'}")
        store.feeds.sync([(site.url(f"/{s['id']}"), s["id"], None, None) for s in specs])
        fetcher = Fetcher(settings)
        try:
            return list(await asyncio.gather(*(one(s) for s in specs)))
        finally:
            await fetcher.aclose()
            store.close()


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell (no pipes, no look-alike HTML tags)."""
    return text.replace("|", "/").replace("<", "&lt;").replace(">", "&gt;")


def table(outcomes: list[FeedOutcome]) -> list[str]:
    """The feeds table (Markdown), one row per feed, totals first."""
    plain = sum(o.plain for o in outcomes)
    kept = sum(o.newsbot or 0 for o in outcomes)
    unexplained = [o for o in outcomes if not o.explained]
    lines = [
        f"{len(outcomes)} feed files; plain feedparser finds {plain} items, newsbot keeps {kept}; "
        f"{sum(o.duplicates for o in outcomes)} listed twice, "
        f"{sum(o.empty for o in outcomes)} empty; {len(unexplained)} unexplained difference(s).",
        "",
        "| feed | kind | served | feedparser | newsbot | difference explained |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for o in sorted(outcomes, key=lambda o: (o.explanation == "same", o.id)):
        shown = "error" if o.newsbot is None else str(o.newsbot)
        why = (
            o.explanation
            if o.explained
            else f"**UNEXPLAINED** {o.lost_titles[:3]} {o.dirty_titles[:3]}"
        )
        lines.append(f"| {o.id} | {o.kind} | {o.serve} | {o.plain} | {shown} | {_cell(why)} |")
    return lines


def main() -> None:
    print("\n".join(table(asyncio.run(evaluate()))))


if __name__ == "__main__":
    main()
