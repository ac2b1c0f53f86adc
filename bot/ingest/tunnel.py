"""Through an HTTP proxy to the address the SSRF guard vetted, never to a name.

A proxy that is handed a name resolves it itself, so the guard's check and the
connection could see two different DNS answers (rebinding). Here the guard
resolves and vets the name, and the proxy is asked for a tunnel to that very
address (``CONNECT 203.0.113.7:443``); TLS is then negotiated inside the tunnel
by httpcore as for a direct connection, so the server name (SNI), the
certificate check and the ``Host`` header all keep the name. Plain ``http://``
goes through a tunnel too (a forwarded request would make the proxy resolve the
name), so the proxy must allow CONNECT to port 80 as well as 443. A name that
cannot be resolved here is refused: the guard cannot pin it.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterable
from urllib.parse import unquote

import anyio
import httpcore
import httpx
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

from bot.ingest.netguard import GuardedBackend, SocketOption

MAX_ANSWER = 16 * 1024  # bytes of the proxy's answer to CONNECT


class TunnelBackend(AsyncNetworkBackend):
    """An httpcore network backend whose every connection is a CONNECT tunnel to a vetted IP."""

    def __init__(self, proxy: str, guard: GuardedBackend) -> None:
        url = httpx.URL(proxy)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"proxy {proxy!r}: must be an http:// or https:// URL")
        self.proxy, self.guard = url, guard
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._auth = b""
        if url.username:
            pair = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
            self._auth = b"Proxy-Authorization: Basic " + base64.b64encode(pair) + b"\r\n"
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        """Vet ``host``, then open a tunnel through the proxy to its first vetted address."""
        try:
            with anyio.fail_after(timeout):
                address = (await self.guard.vetted(host, port))[0]
                stream = await self._inner.connect_tcp(
                    self.proxy.host, self._port, None, local_address, socket_options
                )
                if self.proxy.scheme == "https":
                    stream = await stream.start_tls(ssl.create_default_context(), self.proxy.host)
                await self._connect(stream, address, port)
                return stream
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host}: connect through the proxy timed out") from None
        except OSError as exc:  # resolution failed: nothing to pin, so nothing to ask for
            raise httpcore.ConnectError(
                f"{host}: cannot be resolved here ({exc}); through a proxy, newsbot still "
                "resolves and vets every address itself"
            ) from None

    async def _connect(self, stream: AsyncNetworkStream, address: str, port: int) -> None:
        target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        await stream.write(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n".encode() + self._auth + b"\r\n"
        )
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):  # byte by byte: nothing past the header
            chunk = await stream.read(1)
            if not chunk or len(answer) > MAX_ANSWER:
                await stream.aclose()
                raise httpcore.ProxyError(f"the proxy gave no usable answer to CONNECT {target}")
            answer += chunk
        status = answer.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status.split(" ", 2)
        if len(parts) < 2 or not parts[1].startswith("2"):
            await stream.aclose()
            raise httpcore.ProxyError(f"the proxy refused CONNECT {target}: {status}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        """Unix sockets are refused, as by the direct guard."""
        return await self.guard.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
