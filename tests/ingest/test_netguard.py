"""The SSRF guard: non-public addresses are refused at connect time, on every hop."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import AllowPolicy, BlockedAddressError, GuardedTransport, refusal
from tests.fakes.web import LoopbackSite

LOOPBACK_OK = AllowPolicy(allow_loopback=True)


class Spy:
    """Records every address the guarded backend actually connects to."""

    def __init__(self, transport: GuardedTransport) -> None:
        self.connected: list[str] = []
        inner = transport.backend._inner
        original = inner.connect_tcp

        async def connect_tcp(host: str, port: int, *args: object, **kw: object) -> object:
            self.connected.append(host)
            return await original(host, port, *args, **kw)

        inner.connect_tcp = connect_tcp  # type: ignore[method-assign]


def client(transport: GuardedTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, follow_redirects=True, timeout=5)


def fixed(answers: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "a private address"),
        ("172.31.255.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("127.0.0.1", "a loopback address"),
        ("::ffff:10.1.2.3", "a private address"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
        ("2002:c0a8:0101::1", "a private address"),  # 6to4 of 192.168.1.1
        ("192.0.2.7", "a non-public address"),  # documentation range
    ],
)
def test_non_public_addresses_are_refused_by_default(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address), AllowPolicy()) == reason


def test_public_addresses_pass_and_allowances_are_narrow() -> None:
    for public in ("93.184.216.34", "2606:4700::6810:85e5", "8.8.8.8"):
        assert refusal(ipaddress.ip_address(public), AllowPolicy()) is None
    everything = AllowPolicy(allow_private=True, allow_loopback=True)
    assert refusal(ipaddress.ip_address("10.0.0.5"), everything) is None
    assert refusal(ipaddress.ip_address("::1"), everything) is None
    # Allowing private never opens metadata or link-local addresses.
    assert refusal(ipaddress.ip_address("fd00:ec2::254"), everything) is not None
    assert refusal(ipaddress.ip_address("169.254.169.254"), everything) is not None
    assert refusal(ipaddress.ip_address("fe80::1"), everything) is not None


async def test_loopback_is_refused_by_default_with_a_clear_message(site: LoopbackSite) -> None:
    site.route("/feed.xml", "<rss/>")
    transport = GuardedTransport(AllowPolicy())
    spy = Spy(transport)
    async with client(transport) as c:
        with pytest.raises(
            BlockedAddressError,
            match=r"^refused: 127\.0\.0\.1, a loopback address "
            r"\(set fetch\.allow_loopback: true to allow it\)$",
        ):
            await c.get(site.url("/feed.xml"))
    assert spy.connected == [] and site.hits("/feed.xml") == 0


async def test_loopback_is_served_when_allowed(site: LoopbackSite) -> None:
    site.route("/feed.xml", "<rss/>")
    async with client(GuardedTransport(LOOPBACK_OK)) as c:
        resp = await c.get(site.url("/feed.xml"))
    assert resp.status_code == 200 and resp.text == "<rss/>"


async def test_a_redirect_to_a_private_address_is_refused_at_the_hop(site: LoopbackSite) -> None:
    site.redirect("/feed.xml", "http://10.0.0.1/internal/admin", status=302)
    transport = GuardedTransport(LOOPBACK_OK)
    spy = Spy(transport)
    async with client(transport) as c:
        with pytest.raises(BlockedAddressError, match=r"refused: 10\.0\.0\.1, a private address"):
            await c.get(site.url("/feed.xml"))
    assert site.hits("/feed.xml") == 1
    assert spy.connected == ["127.0.0.1"]  # 10.0.0.1 was never dialled


async def test_the_metadata_endpoint_is_refused_even_with_everything_allowed() -> None:
    transport = GuardedTransport(AllowPolicy(allow_private=True, allow_loopback=True))
    spy = Spy(transport)
    async with client(transport) as c:
        with pytest.raises(BlockedAddressError, match="a cloud metadata address") as err:
            await c.get("http://169.254.169.254/latest/meta-data/")
    assert spy.connected == []
    assert isinstance(err.value, httpx.ConnectError)
    assert err.value.request.url.path == "/latest/meta-data/"


async def test_a_hostname_is_named_with_the_address_it_resolves_to() -> None:
    resolver = fixed({"feed.example": ["10.0.0.5"]})
    async with client(GuardedTransport(AllowPolicy(), resolver=resolver)) as c:
        with pytest.raises(
            BlockedAddressError, match=r"^refused: feed\.example resolves to 10\.0\.0\.5, a private"
        ):
            await c.get("https://feed.example/rss")


async def test_localhost_is_resolved_and_refused_by_default(site: LoopbackSite) -> None:
    site.route("/x", "ok")
    url = f"http://localhost:{site.port}/x"
    async with client(GuardedTransport(AllowPolicy())) as c:
        with pytest.raises(
            BlockedAddressError, match=r"refused: localhost resolves to 127\.0\.0\."
        ):
            await c.get(url)
    async with client(GuardedTransport(LOOPBACK_OK)) as c:
        assert (await c.get(url)).text == "ok"


async def test_one_bad_address_in_the_answer_refuses_the_host(site: LoopbackSite) -> None:
    resolver = fixed({"feed.example": ["127.0.0.1", "192.168.0.10"]})
    transport = GuardedTransport(LOOPBACK_OK, resolver=resolver)
    spy = Spy(transport)
    async with client(transport) as c:
        with pytest.raises(BlockedAddressError, match=r"192\.168\.0\.10"):
            await c.get(f"http://feed.example:{site.port}/")
    assert spy.connected == []


async def test_dns_rebinding_is_caught_on_the_next_connection(site: LoopbackSite) -> None:
    """The first answer is allowed, the second points inside: each connect re-resolves."""
    answers = iter([["127.0.0.1"], ["10.0.0.5"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    site.route("/feed.xml", "<rss/>", headers={"Connection": "close"})
    transport = GuardedTransport(LOOPBACK_OK, resolver=rebinding)
    spy = Spy(transport)
    url = f"http://rebind.example:{site.port}/feed.xml"
    async with client(transport) as c:
        first = await c.get(url)
        assert first.status_code == 200
        assert site.requests[-1][1]["host"] == f"rebind.example:{site.port}"  # Host kept
        with pytest.raises(BlockedAddressError, match=r"resolves to 10\.0\.0\.5"):
            await c.get(url)
    assert spy.connected == ["127.0.0.1"]


@pytest.fixture
async def ipv6_site() -> AsyncIterator[int]:
    """A one-response HTTP server on [::1] (the shared LoopbackSite is IPv4 only)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nv6")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "::1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_ipv6_loopback_literal_is_refused_then_allowed(ipv6_site: int) -> None:
    url = f"http://[::1]:{ipv6_site}/"
    async with client(GuardedTransport(AllowPolicy())) as c:
        with pytest.raises(
            BlockedAddressError, match=r"^refused: ::1, a loopback address \(set fetch\.allow_lo"
        ):
            await c.get(url)
    async with client(GuardedTransport(LOOPBACK_OK)) as c:
        assert (await c.get(url)).text == "v6"


async def test_the_fetcher_reports_a_refusal_with_its_own_kind() -> None:
    """The Fetcher guards by default and labels a refusal ``blocked_address``."""
    fetcher = Fetcher(FetchSettings(deadline_seconds=2))
    try:
        with pytest.raises(FetchError, match=r"refused: 169\.254\.169\.254") as err:
            await fetcher.fetch_feed("http://169.254.169.254/latest/meta-data/")
        assert err.value.kind == "blocked_address"
    finally:
        await fetcher.aclose()
