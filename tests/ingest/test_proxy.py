"""Through a proxy the SSRF guard still decides where newsbot connects.

Found in issue 17: with ``fetch.proxy`` set, the guard resolved the name once and
the proxy resolved it again on its own (DNS rebinding), NXDOMAIN escaped as a raw
``socket.gaierror``, and ``HTTP_PROXY``/``HTTPS_PROXY`` were silently ignored.
Now the proxy is asked for a tunnel to the address the guard vetted (``CONNECT
127.0.0.2:port``), TLS inside it keeps the name (SNI, certificate, ``Host``), a
name that cannot be pinned is refused with newsbot's own error, and the proxy
variables are honoured as curl reads them. The proxy here is a loopback fake with
a DNS of its own (tests/fakes/proxy.py).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest
import trustme

from bot.config.settings import FetchSettings
from bot.core.errors import FetchError
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import AllowPolicy, GuardedBackend, Resolver, guarded_transport
from bot.ingest.proxies import proxy_mounts
from bot.ingest.tunnel import TunnelBackend
from tests.fakes.proxy import LoopbackProxy
from tests.fakes.web import LoopbackSite
from tests.helpers.harness import rss


def resolver(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.fixture
def sites() -> Iterator[tuple[LoopbackSite, LoopbackSite]]:
    """The real server (127.0.0.2) and the one a rebinding answer points at (127.0.0.3)."""
    with LoopbackSite("127.0.0.2") as good, LoopbackSite("127.0.0.3") as evil:
        good.route("/feed.xml", rss([], title="Good"))
        evil.route("/feed.xml", rss([], title="Evil"))
        yield good, evil


def fetcher(proxy: str | None, table: dict[str, list[str]], **env: str) -> Fetcher:
    settings = FetchSettings(proxy=proxy, allow_loopback=True, deadline_seconds=5)
    return Fetcher(settings, environ=env, resolver=resolver(table))


async def test_the_proxy_is_asked_for_the_vetted_address_never_for_the_name(sites) -> None:
    good, evil = sites
    with LoopbackProxy(dns={"news.example": f"127.0.0.3:{evil.port}"}) as proxy:
        client = fetcher(proxy.url, {"news.example": ["127.0.0.2"]})
        try:
            result = await client.fetch_feed(f"http://news.example:{good.port}/feed.xml")
        finally:
            await client.aclose()
    assert b"Good" in result.body
    assert proxy.asked == [("CONNECT", f"127.0.0.2:{good.port}", f"127.0.0.2:{good.port}")]
    assert good.requests[0][1]["host"] == f"news.example:{good.port}", "Host keeps the name"
    assert evil.requests == [], "the proxy's own DNS answer was never used"


async def test_a_name_resolving_to_a_blocked_address_is_refused_before_the_proxy() -> None:
    with LoopbackProxy() as proxy:
        settings = FetchSettings(proxy=proxy.url, deadline_seconds=5)  # no loopback allowed
        table = {"intranet.example": ["10.0.0.5"], "rebound.example": ["127.0.0.1"]}
        client = Fetcher(settings, environ={}, resolver=resolver(table))
        try:
            for host, why in (("intranet.example", "private"), ("rebound.example", "loopback")):
                with pytest.raises(FetchError, match=why) as err:
                    await client.fetch_feed(f"http://{host}/feed.xml")
                assert err.value.kind == "blocked_address"
        finally:
            await client.aclose()
    assert proxy.asked == []


async def test_a_name_that_cannot_be_resolved_is_newsbots_own_error() -> None:
    with LoopbackProxy() as proxy:
        client = fetcher(proxy.url, {})
        try:
            with pytest.raises(FetchError, match="cannot be resolved here") as err:
                await client.fetch_feed("http://nxdomain.example/feed.xml")
        finally:
            await client.aclose()
    assert err.value.kind == "network"
    assert proxy.asked == [], "nothing unpinned is handed to the proxy"


async def test_a_refused_tunnel_is_newsbots_own_error(sites) -> None:
    good, _ = sites
    with LoopbackProxy(dns={"127.0.0.2": "127.0.0.9:9"}) as proxy:  # it cannot get there
        client = fetcher(proxy.url, {})
        try:
            with pytest.raises(FetchError, match=r"proxy refused CONNECT 127\.0\.0\.2") as err:
                await client.fetch_feed(f"http://127.0.0.2:{good.port}/feed.xml")
        finally:
            await client.aclose()
    assert err.value.kind == "network" and "502" in str(err.value)


class TLSSite:
    """An HTTPS server on 127.0.0.2 with a certificate for news.example; records SNI and Host."""

    def __init__(self, ca: trustme.CA) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("news.example").configure_cert(self.ctx)
        self.ctx.sni_callback = lambda sock, name, ctx: self.names.append(name)  # type: ignore[func-returns-value]
        self.names: list[str | None] = []
        self.hosts: list[str] = []
        self.sock = socket.create_server(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(4096)
                host = [h for h in head.split(b"\r\n") if h.lower().startswith(b"host:")]
                self.hosts.append(host[0].split(b":", 1)[1].strip().decode())
                body = rss([], title="Secure").encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )


async def test_tls_through_the_tunnel_keeps_the_name_for_sni_and_the_certificate() -> None:
    ca = trustme.CA()
    site = TLSSite(ca)
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    policy = AllowPolicy(allow_loopback=True)
    with LoopbackProxy(dns={"news.example": "127.0.0.3"}) as proxy:
        guard = GuardedBackend(policy, resolver({"news.example": ["127.0.0.2"]}))
        transport = guarded_transport(
            policy, verify=verify, backend=TunnelBackend(proxy.url, guard)
        )
        client = Fetcher(
            FetchSettings(deadline_seconds=5), client=httpx.AsyncClient(transport=transport)
        )
        try:
            result = await client.fetch_feed(f"https://news.example:{site.port}/feed.xml")
        finally:
            await client.aclose()
            site.sock.close()
    assert b"Secure" in result.body
    assert proxy.asked[0][:2] == ("CONNECT", f"127.0.0.2:{site.port}")
    assert site.names == ["news.example"], "SNI names the host, not the address"
    assert site.hosts == [f"news.example:{site.port}"]


async def test_the_proxy_variables_are_honoured_as_curl_reads_them(sites) -> None:
    good, _ = sites
    url = f"http://127.0.0.2:{good.port}/feed.xml"
    with LoopbackProxy() as proxy:
        for env, proxied in (
            ({"http_proxy": proxy.url}, True),
            ({"HTTP_PROXY": proxy.url}, True),
            ({"all_proxy": proxy.url}, True),
            ({"https_proxy": proxy.url}, False),  # not for http:// URLs
            ({"http_proxy": proxy.url, "no_proxy": "127.0.0.2"}, False),
            ({"http_proxy": proxy.url, "NO_PROXY": "*"}, False),
        ):
            before = len(proxy.asked)
            client = fetcher(None, {}, **env)
            try:
                await client.fetch_feed(url)
            finally:
                await client.aclose()
            assert (len(proxy.asked) > before) == proxied, env


def test_no_proxy_entries_become_direct_routes() -> None:
    mounts = proxy_mounts(
        None,
        {
            "https_proxy": "http://p:3128",
            "no_proxy": "example.com, .corp.test,10.1.2.3,::1,host:8080",
        },
    )
    assert mounts["https://"] == "http://p:3128" and mounts["http://"] is None
    direct = {k for k, v in mounts.items() if k.startswith("all://") and v is None}
    assert direct == {
        "all://example.com",
        "all://*.example.com",
        "all://corp.test",
        "all://*.corp.test",
        "all://10.1.2.3",
        "all://[::1]",
        "all://host:8080",
        "all://*.host:8080",
    }
    assert proxy_mounts("http://set:1", {"http_proxy": "http://env:2"})["http://"] == "http://set:1"
