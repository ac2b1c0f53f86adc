"""Shared plumbing for the loopback fakes: a threaded HTTP server that stops fast.

Both fakes run a stdlib ``ThreadingHTTPServer`` in a daemon thread.  Handlers may block
on purpose (long-poll, hang, slow drip), so ``stop()`` wakes them through an Event,
shuts down every open client socket and never joins handler threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for handlers that hang on purpose
    # socketserver's default backlog of 5 overflows when a cycle opens ten connections
    # at once on a loaded machine; the dropped SYN is retried after 1 s, which is the
    # tests' connect timeout, so a feed failed with "timeout" at random.
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], handler: type, owner: LoopbackServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients dropping connections is routine in fault tests."""


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler that tracks its socket so ``stop()`` can cut it."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean."""

    @property
    def owner(self) -> Any:
        return self.server.owner

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class LoopbackServer:
    """Base class: lifecycle, a Condition notified on every request, and ``wait_for``."""

    handler_class: type[QuietHandler] = QuietHandler

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._cond = threading.Condition()  # RLock inside: predicates may re-enter
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    def start(self) -> Self:
        """Bind an ephemeral port and serve in a daemon thread."""
        self._stopping.clear()
        self._server = _Server((self.host, 0), self.handler_class, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake blocked handlers, cut open connections and close the listening socket."""
        if self._server is None:
            return
        self._stopping.set()
        self.notify()
        server, self._server = self._server, None
        server.shutdown()
        with server.conn_lock:
            conns = list(server.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def notify(self) -> None:
        """Wake ``wait_for`` callers (and any internal waiters) to re-check state."""
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate(self)`` holds; re-checked after every request.

        Raises AssertionError describing the server's recent traffic on timeout.
        """
        with self._cond:
            if self._cond.wait_for(lambda: predicate(self), timeout=timeout):
                return
            state = self.describe()
        raise AssertionError(f"condition not met within {timeout}s; {state}")

    async def wait_for_async(
        self,
        predicate: Callable[[Self], bool],
        timeout: float = 10.0,
    ) -> None:
        """``wait_for`` for async tests: blocks a worker thread, not the event loop."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    def describe(self) -> str:
        """Summary of recorded traffic for assertion messages; subclasses override."""
        return "no details"
