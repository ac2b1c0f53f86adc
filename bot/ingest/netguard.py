"""SSRF guard for httpx: refuse non-public addresses at connect time, on every hop.

A feed list or a feed's links can point newsbot at ``http://169.254.169.254/`` or
at a host whose DNS answer is ``10.0.0.5``. Checking URLs up front is not enough:
a redirect or a second DNS answer (rebinding) lands somewhere else. So the check
sits in the httpcore network backend that httpx calls for every new connection:
it resolves the hostname itself, vets every address, and connects to a vetted
address only. TLS (SNI, certificate check) and the Host header still use the
hostname, because httpcore passes those on separately from the TCP connect.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Checked in order; the first match names the address. Metadata comes first because
# fd00:ec2::254 sits inside fc00::/7 and must stay refused when private is allowed.
METADATA = _nets("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32", "192.0.0.192/32")
LOOPBACK = _nets("127.0.0.0/8", "::1/128")
PRIVATE = _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
SHARED = _nets("100.64.0.0/10")  # carrier-grade NAT: private in practice
LINK_LOCAL = _nets("169.254.0.0/16", "fe80::/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own


@dataclass(frozen=True, slots=True)
class AllowPolicy:
    """What the guard lets through besides public addresses.

    ``allow_private`` covers RFC 1918, CGNAT and IPv6 unique-local addresses (an
    intranet feed); link-local, metadata, multicast and reserved stay refused.
    """

    allow_private: bool = False
    allow_loopback: bool = False


# The setting that lets each kind of refused address through; the rest never pass.
ALLOWED_BY = {
    "a loopback address": "fetch.allow_loopback",
    "a private address": "fetch.allow_private_addresses",
    "a shared (CGNAT) address": "fetch.allow_private_addresses",
}


def _hint(reason: str) -> str:
    setting = ALLOWED_BY.get(reason)
    return f"set {setting}: true to allow it" if setting else "no setting allows it"


class BlockedAddressError(httpx.ConnectError):
    """A connection was refused because the host resolves to a non-public address."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        shown = host if address == host else f"{host} resolves to {address}"
        super().__init__(f"refused: {shown}, {reason} ({_hint(reason)})")
        self.host, self.address, self.reason = host, address, reason


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one tunnels to (mapped, 6to4 or NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, allow: AllowPolicy) -> str | None:
    """Why ``ip`` may not be connected to under ``allow``, or None when it may."""
    inner = _embedded_v4(ip)
    if inner is not None:
        return refusal(inner, allow)
    if any(ip in n for n in METADATA):
        return "a cloud metadata address"
    if any(ip in n for n in LOOPBACK):
        return None if allow.allow_loopback else "a loopback address"
    if any(ip in n for n in PRIVATE):
        return None if allow.allow_private else "a private address"
    if any(ip in n for n in SHARED):
        return None if allow.allow_private else "a shared (CGNAT) address"
    if any(ip in n for n in LINK_LOCAL):
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the order the system prefers."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(AsyncNetworkBackend):
    """An httpcore network backend that connects only to vetted addresses."""

    def __init__(self, allow: AllowPolicy, resolver: Resolver = system_resolver) -> None:
        self.allow = allow
        self.resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def vetted(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses; refuse if any one is not allowed."""
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        addresses = [str(literal)] if literal else await self.resolver(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no addresses")
        for address in addresses:
            reason = refusal(ipaddress.ip_address(address.split("%")[0]), self.allow)
            if reason:
                raise BlockedAddressError(host, address, reason)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        """Resolve, vet, then connect to the first vetted address that answers."""
        try:
            with anyio.fail_after(timeout):
                addresses = await self.vetted(host, port)
                error: Exception | None = None
                for address in addresses:
                    try:
                        return await self._inner.connect_tcp(
                            address, port, None, local_address, socket_options
                        )
                    except httpcore.ConnectError as exc:
                        error = exc
                raise httpcore.ConnectError(f"{host}: {error}")
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host}: connect timed out") from None
        except OSError as exc:  # resolution failed
            raise httpcore.ConnectError(f"{host}: {exc}") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        """Unix sockets are local by definition: always refused."""
        raise BlockedAddressError(path, path, "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connections all go through ``GuardedBackend``.

    No httpx proxy and no Unix socket: httpx's proxy support would have the proxy
    resolve the target itself. ``backend`` replaces the direct connections, as
    bot.ingest.tunnel's does to reach the vetted address through a proxy.
    """

    def __init__(
        self,
        allow: AllowPolicy,
        *,
        verify: ssl.SSLContext | str | bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_LIMITS,
        retries: int = 0,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        resolver: Resolver = system_resolver,
        backend: AsyncNetworkBackend | None = None,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify)
        self.backend = backend or GuardedBackend(allow, resolver)
        # Same construction as AsyncHTTPTransport (httpx 0.27/0.28), plus the backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            local_address=local_address,
            retries=retries,
            socket_options=socket_options,
            network_backend=self.backend,
        )


def guarded_transport(allow: AllowPolicy, **transport_kwargs: Any) -> GuardedTransport:
    """A transport for ``httpx.AsyncClient(transport=...)`` that refuses SSRF targets."""
    return GuardedTransport(allow, **transport_kwargs)
