"""File bodies a server encodes although we asked for identity: kept raw, never inflated.

Why: ``Content-Encoding: gzip, gzip`` on a 1 KB body inflated to 1.2 GB inside httpx's
``iter_bytes`` before any counter saw it; and Apache's ``AddEncoding`` labels a stored ``.tar.gz``
as ``gzip``, whose listed checksum is of the bytes as stored. So the transfer engine, the subset
reader and the ``doi://`` filesystem keep the raw bytes, and read no more than they need.
"""

from __future__ import annotations

import gzip
import tracemalloc

import httpx
import pytest

from doi2data.errors import ResponseTooLarge
from doi2data.transfer.common import Overlong, capped

MiB = 1024 * 1024


def nested_bomb(size: int) -> bytes:
    """``gzip, gzip`` of ``size`` zero bytes: a few KB on the wire."""
    return gzip.compress(gzip.compress(b"\0" * size, 9), 9)


def client_for(body: bytes, headers: dict[str, str], status: int = 200) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_capped_keeps_an_encoded_body_raw_and_small() -> None:
    bomb = nested_bomb(256 * MiB)
    with client_for(bomb, {"content-encoding": "gzip, gzip", "content-length": str(len(bomb))}) as client:
        with client.stream("GET", "https://files.test/a.bin") as response:
            tracemalloc.start()
            got = b"".join(capped(response, response.iter_bytes(), len(bomb)))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert got == bomb                 # the bytes as sent: what the repository's checksum is of
    assert peak < 16 * MiB, peak       # httpx's decoder would have made 256 MiB


def test_capped_still_enforces_the_size_on_an_encoded_body() -> None:
    body = gzip.compress(b"x" * 10_000)
    with client_for(body, {"content-encoding": "gzip"}) as client:  # no length: counted chunk by chunk
        with client.stream("GET", "https://files.test/a.gz") as response, pytest.raises(Overlong):
            b"".join(capped(response, response.iter_bytes(), len(body) - 1))


def test_range_reader_keeps_encoded_bytes_raw() -> None:
    from doi2data.subset.ranges import RangeReader

    stored = gzip.compress(b"tar bytes" * 1000)  # a .tar.gz served with Content-Encoding: gzip

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, headers={"content-encoding": "gzip",
                                            "content-range": f"bytes 0-{len(stored) - 1}/{len(stored)}"},
                              stream=httpx.ByteStream(stored))

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        reader = RangeReader(client=client)
        assert reader.read("https://files.test/x.tar.gz", 0, len(stored)) == stored


def test_doi_filesystem_reads_no_more_than_it_needs() -> None:
    pytest.importorskip("fsspec")
    from doi2data.fs import DoiFileSystem

    whole = bytes(range(256)) * 4096  # 1 MiB file; this server ignores Range
    fs = DoiFileSystem(skip_instance_cache=True)
    fs._client = client_for(whole, {"content-length": str(len(whole))})
    try:
        assert fs.fetch("https://files.test/f", 10, 20) == whole[10:20]   # the head only, then cut
        with pytest.raises(ResponseTooLarge):
            fs.fetch("https://files.test/f", size=1000)                     # longer than listed
        bomb = nested_bomb(64 * MiB)
        fs._client = client_for(bomb, {"content-encoding": "gzip, gzip"})
        assert fs.fetch("https://files.test/f", size=64 * MiB) == bomb      # raw, as stored: never inflated
        with pytest.raises(ResponseTooLarge):
            fs.fetch("https://files.test/f", size=len(bomb) - 1)
    finally:
        fs._client.close()
