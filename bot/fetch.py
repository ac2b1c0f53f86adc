"""HTTP fetching for feeds and article pages (httpx, async).

Every request has a total deadline (httpx's read timeout is per chunk, so a
slow-drip server could otherwise hold a request forever), a body-size cap that is
enforced while streaming (after gzip decoding), bounded concurrency, and a
descriptive User-Agent. Feeds use conditional GET, so an unchanged feed costs a
304 and no parse.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot.errors import FetchError
from bot.models import FetchResult
from bot.settings import FetchSettings

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
PERMANENT = {301, 308}


class Fetcher:
    """One shared client and one concurrency bound for every request newsbot makes."""

    def __init__(self, settings: FetchSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.AsyncClient(
            headers={"User-Agent": settings.user_agent},
            timeout=httpx.Timeout(
                settings.deadline_seconds, connect=settings.connect_timeout_seconds
            ),
            limits=httpx.Limits(max_connections=settings.max_concurrency * 2),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
        )
        self._slots = asyncio.Semaphore(settings.max_concurrency)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    async def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET a feed, conditionally when validators are known."""
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._get(url, headers, self.settings.max_feed_bytes)

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article page."""
        return await self._get(url, {"Accept": PAGE_ACCEPT}, self.settings.max_page_bytes)

    async def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        async with self._slots:
            try:
                async with asyncio.timeout(self.settings.deadline_seconds):
                    return await self._stream(url, headers, max_bytes)
            except TimeoutError:
                raise FetchError(
                    f"{url}: no complete answer within {self.settings.deadline_seconds:g} s",
                    kind="deadline",
                ) from None
            except httpx.TooManyRedirects:
                raise FetchError(f"{url}: too many redirects", kind="redirects") from None
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"{url}: timed out ({type(exc).__name__})", kind="timeout"
                ) from None
            except httpx.InvalidURL as exc:
                raise FetchError(f"{url}: invalid URL: {exc}", kind="url") from None
            except httpx.HTTPError as exc:
                detail = str(exc) or type(exc).__name__
                raise FetchError(f"{url}: {detail}", kind="network") from None

    async def _stream(self, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        async with self.client.stream("GET", url, headers=headers) as resp:
            final = str(resp.url)
            permanent = bool(resp.history) and all(r.status_code in PERMANENT for r in resp.history)
            if resp.status_code == 304:
                return FetchResult(url, final, 304, permanent_redirect=permanent)
            if resp.status_code >= 400:
                reason = resp.reason_phrase or "error"
                raise FetchError(
                    f"{url}: HTTP {resp.status_code} {reason}", kind=f"http_{resp.status_code}"
                )
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"{url}: body of {declared} bytes exceeds the cap of {max_bytes}",
                    kind="too_large",
                )
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(
                        f"{url}: body exceeds the cap of {max_bytes} bytes", kind="too_large"
                    )
            return FetchResult(
                url=url,
                final_url=final,
                status=resp.status_code,
                body=bytes(body),
                content_type=resp.headers.get("Content-Type", ""),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                permanent_redirect=permanent,
            )
