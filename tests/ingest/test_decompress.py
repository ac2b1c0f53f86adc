"""CappedBody: every coding decodes in bounded steps, bombs stop at the cap, stacks are refused."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from bot.ingest import decompress
from bot.ingest.decompress import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    CappedBody,
    ContentCodingError,
    decoder_for,
)
from tests.fakes.web import compress, compressed_zeros

PAGE = b"<html><body>" + b"<p>Die OVKS-Truppen verlassen Kasachstan.</p>" * 400 + b"</body></html>"
CODINGS = [
    "gzip",
    "deflate",
    "raw-deflate",
    pytest.param(
        "br", marks=pytest.mark.skipif(not decompress.BROTLI, reason="brotli >= 1.2 not installed")
    ),
]


def _header(coding: str) -> str:
    return coding.replace("raw-deflate", "deflate")


def _decoded(coding: str, data: bytes, max_bytes: int, chunk: int) -> bytes:
    body = CappedBody(_header(coding), max_bytes)
    for start in range(0, len(data), chunk):
        body.feed(data[start : start + chunk])
    return body.result()


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_a_page_decodes_whole_whatever_the_chunking(coding: str, chunk: int) -> None:
    data = compress([PAGE], coding)
    assert len(data) < len(PAGE) // 10, "the page really is compressed"
    assert _decoded(coding, data, len(PAGE), chunk) == PAGE


@pytest.mark.parametrize("coding", CODINGS)
def test_a_bomb_in_one_chunk_never_inflates_past_the_cap(coding: str) -> None:
    """24 MB of zeros arrives as one chunk; decoding stops at the 1 MB cap, in memory too."""
    bomb = compressed_zeros(24 * 1024 * 1024, (coding,))
    assert len(bomb) < 1024 * 1024, "the whole bomb fits in one read"
    body = CappedBody(_header(coding), 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="decoded body exceeds the cap of 1048576"):
            body.feed(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # httpx inflated a whole read at once (150 MB for 64 kB of gzip); capped, the body
    # and one step remain.
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while decoding a bomb under a 1 MB cap"


@pytest.mark.parametrize(
    "header", ["gzip, gzip", "deflate, deflate", "gzip, deflate", "br, gzip", "GZIP ,gzip"]
)
def test_more_than_one_coding_layer_is_refused(header: str) -> None:
    with pytest.raises(ContentCodingError, match="stacks 2 codings; newsbot decodes one at most"):
        CappedBody(header, 1000)


@pytest.mark.parametrize("header", ["zstd", "compress", "x-bzip2", "gzip2"])
def test_unknown_codings_are_refused_naming_what_is_accepted(header: str) -> None:
    with pytest.raises(ContentCodingError, match=f"'{header}' is not supported") as err:
        decoder_for(header)
    assert ACCEPT_ENCODING in str(err.value)


def test_identity_is_no_layer_and_x_gzip_is_gzip() -> None:
    gz = gzip.compress(PAGE)
    assert _decoded("identity, gzip", gz, len(PAGE), 4096) == PAGE
    assert _decoded("x-gzip", gz, len(PAGE), 4096) == PAGE
    assert _decoded("identity", PAGE, len(PAGE), 4096) == PAGE
    assert _decoded("", PAGE, len(PAGE), 4096) == PAGE


def test_accept_encoding_offers_only_what_is_decoded_capped() -> None:
    offered = [c.strip() for c in ACCEPT_ENCODING.split(",")]
    assert offered[:2] == ["gzip", "deflate"]
    assert ("br" in offered) == decompress.BROTLI
    for coding in offered:
        decoder_for(coding)  # each one offered has a decoder


def test_raw_bytes_count_against_the_cap_too() -> None:
    """Junk after the end of a gzip stream cannot keep a request alive until the deadline."""
    body = CappedBody("gzip", 10_000)
    body.feed(gzip.compress(b"<rss/>"))
    with pytest.raises(BodyTooLarge, match="body exceeds the cap of 10000"):
        for _ in range(100):
            body.feed(b"\0" * 1000)
    assert body.result() == b"<rss/>"


def test_a_plain_body_over_the_cap_is_refused() -> None:
    body = CappedBody("", 10)
    body.feed(b"0123456789")
    with pytest.raises(BodyTooLarge):
        body.feed(b"x")


def test_corrupt_data_is_a_content_coding_error() -> None:
    data = bytearray(zlib.compress(PAGE))
    data[10:20] = b"\xff" * 10
    with pytest.raises(ContentCodingError, match="corrupt compressed body"):
        _decoded("deflate", bytes(data), len(PAGE), 4096)
    with pytest.raises(ContentCodingError, match="corrupt compressed body"):
        CappedBody("gzip", 100).feed(b"not gzip at all")
