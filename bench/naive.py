"""The naive baseline of bench/pipeline_bench.py: a reasonable simple pipeline.

One process, one thing at a time, and polite by being sequential: httpx (sync,
one keep-alive client) fetches each feed with conditional GET (If-None-Match /
If-Modified-Since from the last answer), feedparser parses it (from
``io.BytesIO``, as its docs advise for bytes), then for each item not seen before:
httpx fetches the page, trafilatura extracts it in-process, the same ``Matcher``
(config/rules.yaml) matches title, summary and text. No store, no delivery: its
output is the set of (article path, topic) it would alert on.
"""

from __future__ import annotations

import io
import resource
import time
from typing import Any

from benchlib import PATH_RE, ROOT, process_cpu

STAGES = ("fetch feed", "parse", "fetch page", "extract", "match")


class Naive:
    """Feed, parse, then per new item: page, trafilatura, match."""

    def __init__(self, feeds: list[str]) -> None:
        import httpx

        from bot.analysis.extract import extract_text
        from bot.core.models import Article
        from bot.rules.file import load_rules
        from bot.rules.matcher import Matcher

        self.extract_text, self.article = extract_text, Article
        self.feeds = feeds
        self.matcher = Matcher(load_rules(ROOT / "config" / "rules.yaml"))
        self.client = httpx.Client(timeout=30, follow_redirects=True, headers={"User-Agent": "n"})
        self.validators: dict[str, dict[str, str]] = {}
        self.seen: set[str] = set()
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self.alerts: set[tuple[str, str]] = set()

    def clocked(self, stage: str, fn: Any, *args: Any, **kw: Any) -> Any:
        """``fn(*args)``, its thread CPU added to ``stage``."""
        t = time.thread_time()
        try:
            return fn(*args, **kw)
        finally:
            self.cpu[stage] += time.thread_time() - t

    def cycle(self) -> dict[str, Any]:
        """Every feed once; every item not seen before: wall, CPU, articles, 304s."""
        import feedparser

        t0, p0 = time.time(), process_cpu()
        articles = not_modified = 0
        for url in self.feeds:
            resp = self.clocked(
                "fetch feed", self.client.get, url, headers=self.validators.get(url)
            )
            if resp.status_code == 304:
                not_modified += 1
                continue
            self._remember(url, resp)
            parsed = self.clocked("parse", feedparser.parse, io.BytesIO(resp.content))
            for e in parsed.entries:
                key = e.get("id") or e.get("link")
                if key in self.seen:
                    continue
                self.item(e, url)
                self.seen.add(key)
                articles += 1
        return {
            "wall": time.time() - t0,
            "cpu": process_cpu() - p0,
            "articles": articles,
            "not_modified": not_modified,
        }

    def _remember(self, url: str, resp: Any) -> None:
        sent = {}
        if etag := resp.headers.get("etag"):
            sent["If-None-Match"] = etag
        if modified := resp.headers.get("last-modified"):
            sent["If-Modified-Since"] = modified
        self.validators[url] = sent

    def item(self, e: Any, feed_url: str) -> None:
        """Fetch, extract and match one item; remember what it would alert on."""
        page = self.clocked("fetch page", self.client.get, e.link)
        text = self.clocked("extract", self.extract_text, page.content, str(page.url))
        article = self.article(
            e.link, e.get("title", ""), e.get("summary", ""), text or "", feed_url, None
        )
        found = self.clocked("match", self.matcher.match, article)
        path = PATH_RE.search(e.link)
        for m in found:
            self.alerts.add((path.group(0) if path else e.link, m.topic_id))


def naive_proc(conn: Any, feeds: list[str]) -> None:
    """Process entry: a cycle of new items, then one unchanged cycle (all 304)."""
    naive = Naive(feeds)
    first = naive.cycle()
    stages, naive.cpu = naive.cpu, dict.fromkeys(STAGES, 0.0)
    unchanged = naive.cycle()
    conn.send(
        {
            "first": first,
            "stages": stages,
            "unchanged": unchanged,
            "alerts": sorted(naive.alerts),
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    )
