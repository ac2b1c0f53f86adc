"""HTTP fetching for feeds and article pages (httpx, async).

Every request has a total deadline (httpx's read timeout is per chunk, so a
slow-drip server could otherwise hold a request forever), a body-size cap that is
enforced while streaming, on the raw bytes and on their decoding (which is ours,
capped per call: bot.ingest.decompress), and a descriptive User-Agent.
Politeness: a global bound on requests in flight, at most ``per_host_concurrency``
per host, and ``per_host_interval_seconds`` between requests to one host. A request
whose server has not answered within ``STALL_SECONDS`` gives both slots back (it
still runs until its deadline): a server that never answers costs it nothing but
an idle socket, while 10 such requests used to stop every other feed for the
whole 30 s deadline. The spacing between request starts still holds. The SSRF
guard (bot.ingest.netguard) vets every address at connect time, redirects included,
through a proxy too (bot.ingest.proxies picks it, bot.ingest.tunnel pins the address).
Feeds use conditional GET, so an unchanged feed costs a 304 and no parse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.core.models import FetchResult
from bot.ingest.decompress import ACCEPT_ENCODING, BodyTooLarge, CappedBody, ContentCodingError
from bot.ingest.netguard import (
    AllowPolicy,
    BlockedAddressError,
    GuardedBackend,
    GuardedTransport,
    Resolver,
    guarded_transport,
    system_resolver,
)
from bot.ingest.proxies import describe, proxy_mounts
from bot.ingest.tunnel import TunnelBackend

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
PERMANENT = {301, 308}
WAIT_STATUSES = {429, 503}
STALL_SECONDS = 5.0  # no response headers this long: the request stops counting toward the limits


class _Held:
    """The slots one request holds: given back once, at its end or when its server stalls."""

    def __init__(self, *slots: asyncio.Semaphore) -> None:
        self.slots, self.answered = list(slots), False

    def stalled(self) -> None:
        if not self.answered:
            self.release()

    def release(self) -> None:
        for slot in self.slots:
            slot.release()
        self.slots.clear()


def seconds_from(value: str | None, now: float | None = None) -> float | None:
    """Retry-After / Expires: delta-seconds or an HTTP date, as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (now or time.time()))


def cache_seconds(headers: httpx.Headers) -> float | None:
    """How long the server says the response stays fresh (max-age wins over Expires)."""
    for part in headers.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip('"').isdigit():
            return float(value.strip('"'))
        if name.lower() in ("no-cache", "no-store"):
            return 0.0
    return seconds_from(headers.get("Expires"))


class HostGate:
    """Per-host politeness: a concurrency limit plus a minimum spacing between starts."""

    def __init__(self, concurrency: int, interval: float) -> None:
        self.interval = interval
        self._slots: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(concurrency)
        )
        self._next: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def enter(self, host: str) -> asyncio.Semaphore:
        """Wait for a slot and this host's spacing; the caller releases the slot."""
        slot = self._slots[host]
        await slot.acquire()
        async with self._turns[host]:
            wait = self._next.get(host, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # politeness spacing, not a test wait
            self._next[host] = time.monotonic() + self.interval
        return slot


class Fetcher:
    """One shared client, one global bound and per-host gates for every request."""

    def __init__(
        self,
        settings: FetchSettings,
        client: httpx.AsyncClient | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        """``environ``: where proxy variables are read (the process's own by default)."""
        self.settings = settings
        policy = AllowPolicy(
            allow_private=settings.allow_private_addresses, allow_loopback=settings.allow_loopback
        )
        # Few idle connections: httpcore polls every pooled socket on each request
        # (encode/httpx#3215); keep-alive only pays off for the hosts in use right now.
        # No bound on connections: the slots bound the requests being served, and a
        # stalled one (no answer yet, slots given back) keeps its idle socket.
        limits = httpx.Limits(
            max_connections=None,
            max_keepalive_connections=settings.max_concurrency // 2 or 1,
        )
        common = {
            "headers": {"User-Agent": settings.user_agent},
            "timeout": httpx.Timeout(
                settings.deadline_seconds, connect=settings.connect_timeout_seconds
            ),
            "follow_redirects": True,
            "max_redirects": settings.max_redirects,
        }
        if client is not None:
            self.client = client
        else:
            mounts = proxy_mounts(settings.proxy, os.environ if environ is None else environ)
            self.client = _client(policy, limits, mounts, resolver, common)
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        # Failing feeds' requests take at most half the slots (a bulkhead): 100
        # hanging feeds retrying, each holding a slot STALL_SECONDS, took them all.
        self._failing = asyncio.Semaphore(max(1, settings.max_concurrency // 2))
        self._hosts = HostGate(settings.per_host_concurrency, settings.per_host_interval_seconds)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    async def fetch_feed(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        failing: bool = False,
    ) -> FetchResult:
        """GET a feed, conditionally when validators are known.

        ``failing``: its last poll failed; it then shares half the global slots with
        the other failing feeds, so healthy feeds always find the other half.
        """
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if not failing:
            return await self._get(
                url, headers, self.settings.max_feed_bytes, "fetch.max_feed_bytes"
            )
        await self._failing.acquire()  # before the host's gate: waiting holds none of its slots
        return await self._get(
            url, headers, self.settings.max_feed_bytes, "fetch.max_feed_bytes", self._failing
        )

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article page."""
        accept = {"Accept": PAGE_ACCEPT}
        return await self._get(url, accept, self.settings.max_page_bytes, "fetch.max_page_bytes")

    async def _get(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        cap: str,
        *extra: asyncio.Semaphore,
    ) -> FetchResult:
        """``extra``: slots already taken for this request, given back with the others."""
        host = (urlsplit(url).hostname or "").lower()
        # Wait out the host's spacing before taking a global slot, so requests queued
        # for one slow or busy host never hold up the other hosts.
        try:
            slot = await self._hosts.enter(host)
        except BaseException:
            _Held(*extra).release()
            raise
        try:
            await self._slots.acquire()
        except BaseException:
            _Held(slot, *extra).release()
            raise
        held = _Held(slot, self._slots, *extra)
        stall = asyncio.get_running_loop().call_later(STALL_SECONDS, held.stalled)
        try:
            async with asyncio.timeout(self.settings.deadline_seconds):
                return await self._stream(url, headers, max_bytes, held)
        except TimeoutError:
            raise FetchError(
                f"{url}: no complete answer within {self.settings.deadline_seconds:g} s "
                "(fetch.deadline_seconds)",
                kind="deadline",
            ) from None
        except httpx.TooManyRedirects:
            raise FetchError(
                f"{url}: too many redirects (more than fetch.max_redirects: "
                f"{self.settings.max_redirects})",
                kind="redirects",
            ) from None
        except FetchError as exc:
            if exc.kind != "too_large":
                raise
            raise FetchError(f"{exc} (raise {cap} to accept it)", kind=exc.kind) from None
        except BlockedAddressError as exc:
            raise FetchError(f"{url}: {exc}", kind="blocked_address") from None
        except httpx.TimeoutException as exc:
            raise FetchError(f"{url}: timed out ({type(exc).__name__})", kind="timeout") from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", kind="url") from None
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            raise FetchError(f"{url}: {detail}", kind="network") from None
        finally:
            stall.cancel()
            held.release()

    async def _stream(
        self, url: str, headers: dict[str, str], max_bytes: int, held: _Held
    ) -> FetchResult:
        # Only the codings CappedBody decodes, whatever httpx would offer on its own.
        headers = {**headers, "Accept-Encoding": ACCEPT_ENCODING}
        async with self.client.stream("GET", url, headers=headers) as resp:
            held.answered = True
            final = str(resp.url)
            permanent = bool(resp.history) and all(r.status_code in PERMANENT for r in resp.history)
            fresh = cache_seconds(resp.headers)
            if resp.status_code == 304:
                return FetchResult(
                    url, final, 304, permanent_redirect=permanent, cache_seconds=fresh
                )
            if resp.status_code >= 400:
                wait = seconds_from(resp.headers.get("Retry-After"))
                raise FetchError(
                    f"{url}: HTTP {resp.status_code} {resp.reason_phrase or 'error'}"
                    + (f" (retry after {wait:.0f} s)" if wait is not None else ""),
                    kind=f"http_{resp.status_code}",
                    retry_after=wait if resp.status_code in WAIT_STATUSES else None,
                )
            body = await _read_capped(resp, url, max_bytes)
            return FetchResult(
                url=url,
                final_url=final,
                status=resp.status_code,
                body=body,
                content_type=resp.headers.get("Content-Type", ""),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                permanent_redirect=permanent,
                cache_seconds=fresh,
            )


def _client(
    policy: AllowPolicy,
    limits: httpx.Limits,
    mounts: dict[str, str | None],
    resolver: Resolver,
    common: dict[str, Any],
) -> httpx.AsyncClient:
    """One guarded transport for direct connections and one per proxy, mounted by URL."""
    direct = guarded_transport(policy, limits=limits, resolver=resolver)
    tunnels: dict[str, GuardedTransport] = {}
    for proxy in {p for p in mounts.values() if p}:
        backend = TunnelBackend(proxy, GuardedBackend(policy, resolver))
        tunnels[proxy] = guarded_transport(policy, limits=limits, backend=backend)
    routes = {p: tunnels[proxy] if proxy else direct for p, proxy in mounts.items()}
    if tunnels:
        log.info("fetch_proxy", extra=describe(mounts))
    return httpx.AsyncClient(transport=direct, mounts=routes, **common)


async def _read_capped(resp: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The body, decoded by us from the raw stream so that no chunk inflates past the cap."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"{url}: body of {declared} bytes exceeds the cap of {max_bytes}", kind="too_large"
        )
    try:
        body = CappedBody(resp.headers.get("Content-Encoding", ""), max_bytes)
        async for chunk in resp.aiter_raw():
            for _ in body.decode(chunk):
                await asyncio.sleep(0)  # other tasks run between decoding steps
    except BodyTooLarge as exc:
        raise FetchError(f"{url}: {exc}", kind="too_large") from None
    except ContentCodingError as exc:
        raise FetchError(f"{url}: {exc}", kind="encoding") from None
    return body.result()
