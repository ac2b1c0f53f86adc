"""A loopback web site serving feeds and article pages, including misbehaving ones.

Fetcher tests need real sockets to exercise timeouts, size caps, redirects, conditional
GETs and decompression limits; this serves all of those from 127.0.0.1 with no network.
Routes can be changed at any time and take effect on the next request.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from ._loopback import LoopbackServer, QuietHandler

RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class RequestInfo:
    """One request as seen by the site; header names are lower-cased."""

    method: str
    path: str  # request target, including any query string
    headers: dict[str, str]


Response = tuple[int, Mapping[str, str], bytes | str]
Responder = Callable[["_SiteHandler", RequestInfo], None]


class _SiteHandler(QuietHandler):
    def do_GET(self) -> None:
        info = RequestInfo(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        responder = self.owner.record(info)
        try:
            if responder is None:
                self.send_simple(404, {"Content-Type": "text/plain"}, b"not found")
            else:
                responder(self, info)
        except OSError:  # the client went away: routine in timeout tests
            self.close_connection = True

    do_HEAD = do_GET

    def send_simple(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A complete response with Content-Length (omitted for 304); no body for HEAD."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    def send_stream(self, headers: Mapping[str, str], chunks: Iterable[bytes]) -> None:
        """Write chunks as they come; without Content-Length the body ends at close."""
        self.close_connection = True
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        if self.command == "HEAD":
            return
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()


def _not_modified(headers: dict[str, str], etag: str | None, last_modified: str | None) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if etag is not None and "if-none-match" in headers:
        tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
        return "*" in tags or etag.removeprefix("W/") in tags
    since = headers.get("if-modified-since")
    if last_modified is None or since is None:
        return False
    if since == last_modified:
        return True
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


# zlib's wbits for each Content-Encoding a bomb can be built with.
_WBITS = {"gzip": 31, "deflate": 15, "raw-deflate": -15}


def compress(chunks: Iterable[bytes | memoryview], coding: str) -> bytes:
    """``chunks`` compressed as one stream: gzip, deflate (zlib), raw-deflate or br."""
    if coding == "br":
        import brotli  # optional; only the br tests (which skip without it) ask for it

        brotler = brotli.Compressor(quality=5)
        return b"".join([*(brotler.process(bytes(c)) for c in chunks), brotler.finish()])
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[coding])
    return b"".join([*(compressor.compress(c) for c in chunks), compressor.flush()])


@functools.cache  # tests ask for the same bombs again and again
def compressed_zeros(size: int, codings: tuple[str, ...]) -> bytes:
    """``size`` zero bytes under each coding in turn, never holding the inflated data."""
    block = memoryview(bytes(1 << 20))
    steps = (block[: min(len(block), size - start)] for start in range(0, size, len(block)))
    data = compress(steps, codings[0])
    for coding in codings[1:]:
        data = compress([data], coding)
    return data


class LoopbackSite(LoopbackServer):
    """HTTP/1.1 site on a loopback address with static, dynamic and faulty routes."""

    handler_class = _SiteHandler

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self._routes: dict[str, Responder] = {}
        self._requests: list[tuple[str, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def record(self, info: RequestInfo) -> Responder | None:
        """Log the request, wake waiters and pick the route (exact target, then path)."""
        with self._cond:
            self._requests.append((info.path, info.headers))
            self._cond.notify_all()
            return self._routes.get(info.path) or self._routes.get(urlsplit(info.path).path)

    def _set(self, path: str, responder: Responder) -> None:
        with self._cond:
            self._routes[path] = responder

    def route(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = RSS,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Serve a fixed body; with etag/last_modified, answer matching validators with 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        validators = {"ETag": etag, "Last-Modified": last_modified}
        validators = {k: v for k, v in validators.items() if v is not None}
        full = {"Content-Type": content_type, **validators, **(headers or {})}

        def respond(handler: _SiteHandler, info: RequestInfo) -> None:
            if _not_modified(info.headers, etag, last_modified):
                handler.send_simple(304, validators, b"")
            else:
                handler.send_simple(status, full, data)

        self._set(path, respond)

    def route_fn(self, path: str, fn: Callable[[RequestInfo], Response]) -> None:
        """Answer with ``fn(request) -> (status, headers, body)``, called per request."""

        def respond(handler: _SiteHandler, info: RequestInfo) -> None:
            status, headers, body = fn(info)
            data = body.encode("utf-8") if isinstance(body, str) else body
            handler.send_simple(status, headers, data)

        self._set(path, respond)

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self._set(path, lambda h, _: h.send_simple(status, {"Location": to}, b""))

    def hang(self, path: str) -> None:
        """Accept the request and never answer, until the server stops."""

        def respond(handler: _SiteHandler, info: RequestInfo) -> None:
            handler.close_connection = True
            self._stopping.wait()

        self._set(path, respond)

    def drip(
        self,
        path: str,
        chunk: bytes = b"x",
        interval: float = 0.2,
        total: int | None = None,
        *,
        content_type: str = HTML,
    ) -> None:
        """Send headers, then ``chunk`` every ``interval`` s; ``total`` caps the bytes sent.

        Defeats per-read timeouts, so only a whole-request deadline stops it.
        """

        def chunks() -> Iterable[bytes]:
            sent = 0
            while total is None or sent < total:
                piece = chunk if total is None else chunk[: total - sent]
                yield piece
                sent += len(piece)
                if self._stopping.wait(interval):
                    return

        self._set(path, lambda h, _: h.send_stream({"Content-Type": content_type}, chunks()))

    def big(self, path: str, size: int, *, content_type: str = HTML) -> None:
        """Stream ``size`` bytes of filler with an honest Content-Length."""

        def chunks() -> Iterable[bytes]:
            block = b"x" * _BLOCK
            for start in range(0, size, _BLOCK):
                if self._stopping.is_set():
                    return
                yield block[: min(_BLOCK, size - start)]

        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        self._set(path, lambda h, _: h.send_stream(headers, chunks()))

    def gzip_bomb(self, path: str, decompressed_size: int, *, content_type: str = HTML) -> None:
        """A small ``Content-Encoding: gzip`` body that inflates to ``decompressed_size``."""
        self.bomb(path, decompressed_size, content_type=content_type)

    def bomb(
        self,
        path: str,
        decompressed_size: int,
        coding: str = "gzip",
        *,
        content_type: str = HTML,
    ) -> None:
        """A small body that inflates to ``decompressed_size`` zero bytes.

        ``coding`` lists the layers in the order applied, as Content-Encoding does
        (``"gzip, gzip"`` is gzip over gzip); ``raw-deflate`` is deflate without
        zlib's wrapper, which some servers send, and is labelled ``deflate``.
        """
        codings = tuple(c.strip() for c in coding.split(","))
        data = compressed_zeros(decompressed_size, codings)
        header = ", ".join(c.replace("raw-deflate", "deflate") for c in codings)
        headers = {"Content-Type": content_type, "Content-Encoding": header}
        self._set(path, lambda h, _: h.send_simple(200, headers, data))

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        with self._cond:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """Requests for ``path`` (an exact target, or a path ignoring the query string)."""
        return sum(1 for p, _ in self.requests if p == path or urlsplit(p).path == path)

    def describe(self) -> str:
        return f"last requests={[p for p, _ in self.requests[-15:]]}"
