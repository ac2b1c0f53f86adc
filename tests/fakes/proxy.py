"""A tiny HTTP proxy on loopback, with a DNS of its own, that records what it is asked.

It answers ``CONNECT host:port`` with a tunnel, and forwards absolute-form
requests (``GET http://host/path``) the way forwarding proxies do. Names are
looked up in its own ``dns`` table, never the system's, so a test can make the
proxy's answer differ from the SSRF guard's (DNS rebinding through a proxy).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n") and len(head) < 65536:
            chunk = self.rfile.read(1)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = line.split(" ", 2)
        proxy = self.server.owner
        proxy.record(method, target, head)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self._tunnel(*proxy.answer(host.strip("[]"), int(port)), b"")
        else:  # forward: the proxy, not the client, resolves the name
            url = urlsplit(target)
            path = url.path + (f"?{url.query}" if url.query else "")
            request = head.replace(target.encode(), (path or "/").encode(), 1)
            self._tunnel(*proxy.answer(url.hostname or "", url.port or 80), request)

    def _tunnel(self, address: str, port: int, first: bytes) -> None:
        try:
            upstream = socket.create_connection((address, port), timeout=5)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            if first:
                upstream.sendall(first)
            else:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            pump = threading.Thread(target=_copy, args=(upstream, self.connection), daemon=True)
            pump.start()
            _copy(self.connection, upstream)
            pump.join(5)


def _copy(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackProxy


class LoopbackProxy:
    """``with LoopbackProxy(dns={"news.example": "127.0.0.3"}) as proxy: proxy.url``."""

    def __init__(self, dns: dict[str, str] | None = None) -> None:
        self.dns = dict(dns or {})
        self.asked: list[tuple[str, str, str]] = []  # (method, target, Host header)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def resolve(self, host: str) -> str:
        return self.dns.get(host, host)

    def answer(self, host: str, port: int) -> tuple[str, int]:
        """Where the proxy connects for ``host``: its DNS may name a port too (a test's
        stand-in for "a different server")."""
        found = self.resolve(host)
        address, _, other = found.rpartition(":") if found.count(":") == 1 else (found, "", "")
        return (address, int(other)) if other else (found, port)

    def record(self, method: str, target: str, head: bytes) -> None:
        host = next(
            (
                h.split(b":", 1)[1].strip().decode("latin-1")
                for h in head.split(b"\r\n")[1:]
                if h.lower().startswith(b"host:")
            ),
            "",
        )
        with self._lock:
            self.asked.append((method, target, host))

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
