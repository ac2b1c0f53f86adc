"""Content-Encoding decoded while the body streams in, never past the size cap.

httpx's own decoders inflate each network chunk whole before the caller can
count it: one 64 kB chunk of a gzip bomb is 64 MB in memory, and a stacked
``gzip, gzip`` multiplies the ratio again (1.8 kB became 2.1 GB in issue 17).
So the fetcher reads the raw body and ``CappedBody`` decodes it here: every call
inflates at most the room left under the cap (zlib's ``max_length``; brotli's
output limit, which can run past by one block of its output buffer, about 100 kB
at most), so a bomb is refused after about cap + 1 bytes of output, a few
milliseconds of work, whatever the load and long before any deadline.

One content-coding layer at most: no server needs two, and each layer multiplies
the ratio. Stacked layers and codings not in ``ACCEPT_ENCODING`` are refused.

Decoding runs on the event loop, so it goes in steps of at most ``STEP`` bytes of
output (a few milliseconds each): ``decode`` yields between steps and the fetcher
lets other tasks run there, so inflating up to a 10 MB cap never holds the loop.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

try:  # optional, as in httpx: ``br`` is only asked for when it can be decoded capped
    import brotli
except ImportError:  # pragma: no cover - depends on the installed extras
    brotli = None

# brotli >= 1.2 can bound its output per call; older bindings cannot, so no ``br``.
BROTLI = brotli is not None and hasattr(brotli.Decompressor, "can_accept_more_data")
# What httpx itself sends (it adds ``br`` when brotli is installed), minus any coding
# it would advertise that is not decoded capped here (``zstd``).
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI else "gzip, deflate"
STEP = 1 << 20  # bytes of output per decoding step (about 3 ms of zlib)


class ContentCodingError(ValueError):
    """The Content-Encoding is refused, or the compressed data is corrupt."""


class BodyTooLarge(ValueError):
    """The body, raw or decoded, passed the cap."""


class _Decoder(Protocol):
    def decode(self, data: bytes, limit: int) -> bytes:
        """Output for ``data``, at most about ``limit`` bytes; the rest stays pending."""

    def pending(self) -> bool:
        """True while output held back by the limit waits for a call with no new data."""


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data

    def pending(self) -> bool:
        return False


class _Zlib:
    """gzip (wbits 31) or zlib-wrapped deflate (15) or raw deflate (-15)."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._d.eof:  # bytes after the end of the stream are ignored, as httpx does
            return b""
        tail = self._d.unconsumed_tail
        try:
            return self._d.decompress(tail + data if tail else data, max(limit, 1))
        except zlib.error as exc:
            raise ContentCodingError(f"corrupt compressed body ({exc})") from None

    def pending(self) -> bool:
        return bool(self._d.unconsumed_tail) and not self._d.eof


class _Deflate:
    """``deflate`` is zlib-wrapped by the RFC, raw from some servers: the header tells."""

    def __init__(self) -> None:
        self._head = b""
        self._inner: _Zlib | None = None

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._inner is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            cmf, flg = self._head[0], self._head[1]
            wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._inner = _Zlib(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        return self._inner.decode(data, limit)

    def pending(self) -> bool:
        return self._inner is not None and self._inner.pending()


class _Brotli:
    # Asked for in small steps, because brotli's limit only stops its buffer growing.
    STEP = 32 * 1024

    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._d.is_finished():
            return b""
        try:
            return self._d.process(data, output_buffer_limit=max(1, min(limit, self.STEP)))
        except brotli.error as exc:
            raise ContentCodingError(f"corrupt brotli body ({exc})") from None

    def pending(self) -> bool:
        return not self._d.can_accept_more_data()


def decoder_for(content_encoding: str) -> _Decoder:
    """A decoder for one Content-Encoding header; stacked or unknown codings are refused."""
    layers = [c.strip().lower() for c in content_encoding.split(",")]
    layers = [c for c in layers if c and c != "identity"]
    if len(layers) > 1:
        raise ContentCodingError(
            f"Content-Encoding {content_encoding!r} stacks {len(layers)} codings; "
            "newsbot decodes one at most"
        )
    if not layers:
        return _Identity()
    if layers[0] in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if layers[0] == "deflate":
        return _Deflate()
    if layers[0] == "br" and BROTLI:
        return _Brotli()
    raise ContentCodingError(
        f"Content-Encoding {layers[0]!r} is not supported (newsbot asks for {ACCEPT_ENCODING})"
    )


class CappedBody:
    """A response body fed raw chunk by chunk, decoded, refused once it passes the cap.

    The raw bytes count against the cap too, so trailing junk after a compressed
    stream cannot keep the request alive until the deadline.
    """

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._decoder = decoder_for(content_encoding)
        self._raw = 0
        self._body = bytearray()

    def feed(self, raw: bytes) -> None:
        """Decode one raw chunk; raise ``BodyTooLarge`` as soon as the cap is passed."""
        for _ in self.decode(raw):
            pass

    def decode(self, raw: bytes) -> Iterator[None]:
        """``feed`` in steps of at most ``STEP`` bytes of output, yielding between them."""
        self._raw += len(raw)
        if self._raw > self.max_bytes:
            raise BodyTooLarge(f"body exceeds the cap of {self.max_bytes} bytes")
        data = raw
        while True:
            room = self.max_bytes - len(self._body) + 1  # one byte past the cap proves it
            self._body += self._decoder.decode(data, min(room, STEP))
            if len(self._body) > self.max_bytes:
                raise BodyTooLarge(f"decoded body exceeds the cap of {self.max_bytes} bytes")
            if not self._decoder.pending():
                return
            data = b""
            yield

    def result(self) -> bytes:
        """The decoded body so far (all of it once every chunk was fed)."""
        return bytes(self._body)
