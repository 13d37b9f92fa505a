"""API bodies are bounded after decoding (issue 16, item 3): one reader, ``http.read_body``.

A gzip bomb, ``Content-Encoding: gzip, gzip``, ``br``, an identity body past its limit: through
httpx's MockTransport (a streamed body, so nothing is decoded before our reader) and through the
sandbox's TLS proxy with a hostile Zenodo (the real stack, in process so memory can be traced).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

import doi2data
from doi2data.adapters.base import fetch_landing_page
from doi2data.errors import RepositoryError, ResponseTooLarge, TransferError
from doi2data.handoff import fts3
from doi2data.http import API_BODY_LIMIT, Http, iter_decoded, make_client, read_body_sync
from doi2data.sandbox import FakeInternet

MiB = 1024 * 1024


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def zeros_gz(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes, compressed piecewise (never ``size`` bytes in memory)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    parts = [comp.compress(block) for _ in range(size // MiB)]
    return b"".join(parts) + comp.compress(bytes(size % MiB)) + comp.flush()


class Chunks(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A streamed body in fixed raw chunks; counts how many were pulled (how far a reader went)."""

    def __init__(self, body: bytes, size: int = 16 * 1024) -> None:
        self.pieces = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.pulled += 1
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.pulled += 1
            yield piece


def serve(body: bytes, headers: dict[str, str], seen: list[httpx.Request] | None = None,
          status: int = 200) -> tuple[Callable[[httpx.Request], httpx.Response], list[Chunks]]:
    streams: list[Chunks] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        stream = Chunks(body)
        streams.append(stream)
        return httpx.Response(status, headers=headers, stream=stream)

    return handler, streams


def get_json(handler: Callable[[httpx.Request], httpx.Response], **http_kwargs: Any) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await Http(client, max_attempts=1, **http_kwargs).get_json("https://api.test/records/1")
    return asyncio.run(go())


DOC = {"files": [{"key": f"f{i}.h5", "size": i} for i in range(2000)]}


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity", ""])
def test_encoded_bodies_within_the_limit_decode_as_before(coding: str) -> None:
    raw = json.dumps(DOC).encode()
    body = {"gzip": gz, "x-gzip": gz, "deflate": zlib.compress,
            "deflate-raw": lambda b: zlib.compress(b)[2:-4]}.get(coding, lambda b: b)(raw)
    header = {"deflate-raw": "deflate"}.get(coding, coding)
    seen: list[httpx.Request] = []
    handler, _ = serve(body, {"content-type": "application/json", **({"content-encoding": header} if header else {})},
                       seen)
    assert get_json(handler) == DOC
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"  # only what the reader can bound


def test_stacked_content_encoding_is_refused_without_inflating() -> None:
    bomb = gz(zeros_gz(64 * MiB))  # the case: a few hundred bytes, 64 MiB after two layers
    assert len(bomb) < 4096
    handler, _ = serve(bomb, {"content-type": "application/json", "content-encoding": "gzip, gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(RepositoryError, match="more than one Content-Encoding"):
            get_json(handler)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB


def test_gzip_bomb_stops_one_byte_past_the_limit() -> None:
    bomb = zeros_gz(256 * MiB)  # ~250 KB on the wire
    handler, streams = serve(bomb, {"content-type": "application/json", "content-encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge, match="larger than 1,048,576 gzip-decoded bytes"):
            get_json(handler, body_limit=MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, peak
    assert streams[0].pulled <= 2  # one 16 KiB raw chunk already inflates past 1 MiB


def test_identity_body_past_the_limit_is_cut_off_while_streaming() -> None:
    handler, streams = serve(b"[" + b"0," * MiB + b"0]", {"content-type": "application/json"})
    with pytest.raises(ResponseTooLarge, match="larger than 65,536 bytes"):
        get_json(handler, body_limit=64 * 1024)
    assert streams[0].pulled == 5  # 4 x 16 KiB fit, the 5th passes the limit: the rest is never read


def test_declared_length_past_the_limit_is_refused_before_reading() -> None:
    body = b" " * (100 * 1024)
    handler, streams = serve(body, {"content-type": "application/json", "content-length": str(len(body))})
    with pytest.raises(ResponseTooLarge):
        get_json(handler, body_limit=64 * 1024)
    assert streams[0].pulled == 0


def test_head_and_304_announce_the_resource_length_not_a_body() -> None:
    big = {"content-length": str(5 * 1024**3), "content-type": "application/octet-stream"}

    async def go(method: str, status: int) -> int:
        handler, _ = serve(b"", big, status=status)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            response = await Http(client, max_attempts=1, body_limit=MiB).request(method, "https://files.test/x.h5")
            return response.status_code

    assert asyncio.run(go("HEAD", 200)) == 200  # a 5 GiB file's HEAD is not a 5 GiB body
    assert asyncio.run(go("GET", 304)) == 304
    with pytest.raises(ResponseTooLarge):
        asyncio.run(go("GET", 200))


def test_default_limit_is_generous_for_listings() -> None:
    assert API_BODY_LIMIT == 256 * MiB
    big = json.dumps({"files": [{"key": f"{i:08d}.cbf", "size": i, "checksum": "md5:" + "0" * 32}
                                for i in range(40_000)]}).encode()  # ~3.4 MB, a large Zenodo listing
    handler, _ = serve(gz(big), {"content-type": "application/json", "content-encoding": "gzip"})
    assert len(get_json(handler)["files"]) == 40_000


def test_brotli_and_zstd_are_refused_unknown_codings_pass_through() -> None:
    for coding in ("br", "zstd"):
        handler, _ = serve(b"\x1b\x00", {"content-type": "application/json", "content-encoding": coding})
        with pytest.raises(RepositoryError, match=f"Content-Encoding {coding}"):
            get_json(handler)
    handler, _ = serve(b'{"a": 1}', {"content-type": "application/json", "content-encoding": "utf-8"})
    assert get_json(handler) == {"a": 1}  # nonsense some servers send; httpx ignored it too


def test_corrupt_gzip_is_a_repository_error() -> None:
    handler, _ = serve(b"\x1f\x8b\x08\x00garbage" * 10, {"content-type": "application/json",
                                                         "content-encoding": "gzip"})
    with pytest.raises(RepositoryError, match="corrupt"):
        get_json(handler)


def test_json_nested_past_the_parser_depth_is_a_repository_error_not_a_crash() -> None:
    from doi2data.adapters._pan.net import json_or_none

    deep = b"[" * 200_000
    handler, _ = serve(deep, {"content-type": "application/json"})
    with pytest.raises(RepositoryError, match="not valid JSON"):
        get_json(handler)
    assert json_or_none(httpx.Response(200, content=deep)) is None


def test_landing_page_is_truncated_after_decoding_and_stacked_codings_become_an_error() -> None:
    page = b"<html><head></head><body>" + b"x" * (8 * MiB) + b"</body></html>"
    handler, _ = serve(gz(page), {"content-type": "text/html; charset=utf-8", "content-encoding": "gzip"})

    async def land(handler: Callable[[httpx.Request], httpx.Response]) -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_landing_page("https://land.test/x", Http(client, max_attempts=1), limit=MiB)

    got = asyncio.run(land(handler))
    assert got.truncated and got.text is not None and len(got.text) == MiB and got.error is None
    handler, _ = serve(gz(gz(page)), {"content-type": "text/html", "content-encoding": "gzip, gzip"})
    got = asyncio.run(land(handler))
    assert got.text is None and "more than one Content-Encoding" in (got.error or "")


def test_sync_reader_for_the_fts3_client() -> None:
    handler, _ = serve(zeros_gz(8 * MiB), {"content-encoding": "gzip"})
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.send(client.build_request("GET", "https://fts.test/jobs/1"), stream=True)
        with pytest.raises(ResponseTooLarge):
            read_body_sync(response, MiB)
        response.close()


def test_iter_decoded_yields_bounded_pieces_and_stops_past_the_limit() -> None:
    handler, streams = serve(zeros_gz(64 * MiB), {"content-encoding": "gzip"})
    sizes: list[int] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.send(client.build_request("GET", "https://files.test/f"), stream=True)
        with pytest.raises(ResponseTooLarge):
            for piece in iter_decoded(response, 4 * MiB):
                sizes.append(len(piece))
        response.close()
    assert sum(sizes) == 4 * MiB and max(sizes) <= MiB  # a 16 KiB raw chunk here makes ~16 MiB
    handler, _ = serve(zeros_gz(MiB), {"content-encoding": "gzip"})
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.send(client.build_request("GET", "https://files.test/f"), stream=True)
        assert b"".join(iter_decoded(response, MiB)) == bytes(MiB)
        response.close()


# -- through the sandbox: a hostile repository behind the real TLS proxy -----------------------------
DOI = "10.5281/zenodo.1215979"


@pytest.fixture
def hostile_zenodo(net: FakeInternet) -> Iterator[dict[str, Any]]:
    """zenodo.org answers its record API with whatever ``bomb`` holds (body, headers)."""
    original = net.sites["zenodo.org"]
    bomb: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path", "").startswith("/api/records/") and bomb:
            headers = [(k.encode(), v.encode()) for k, v in bomb["headers"].items()]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": bomb["body"]})
        else:
            await original(scope, receive, send)

    net.add_site("zenodo.org", app)
    try:
        yield bomb
    finally:
        net.add_site("zenodo.org", original)


def test_stacked_gzip_bomb_from_a_repository_is_refused_with_bounded_memory(hostile_zenodo: dict[str, Any]) -> None:
    hostile_zenodo.update(body=gz(zeros_gz(64 * MiB)),
                          headers={"content-type": "application/json", "content-encoding": "gzip, gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(RepositoryError, match="more than one Content-Encoding") as info:
            doi2data.resolve(DOI)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.exit_code == 6
    assert peak < 32 * MiB, peak  # httpx's MultiDecoder alone would hold the 64 MiB


def test_oversized_listing_through_the_proxy(hostile_zenodo: dict[str, Any], net: FakeInternet) -> None:
    hostile_zenodo.update(body=zeros_gz(16 * MiB), headers={"content-type": "application/json",
                                                           "content-encoding": "gzip"})

    async def go() -> Any:
        async with make_client() as client:
            return await Http(client, max_attempts=1, body_limit=4 * MiB).get_json(
                "https://zenodo.org/api/records/1215979")

    with pytest.raises(ResponseTooLarge, match="https://zenodo.org/api/records/1215979"):
        asyncio.run(go())


def test_fts3_status_body_is_bounded(net: FakeInternet) -> None:
    original = net.sites["fts3-pilot.cern.ch"]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-encoding", b"gzip, gzip")]})
        await send({"type": "http.response.body", "body": gz(zeros_gz(64 * MiB))})

    net.add_site("fts3-pilot.cern.ch", app)
    try:
        with pytest.raises((RepositoryError, TransferError), match="more than one Content-Encoding"):
            fts3.status("https://fts3-pilot.cern.ch", "job-1")
    finally:
        net.add_site("fts3-pilot.cern.ch", original)


def test_cli_reports_a_refused_bomb_in_one_line_with_exit_6(cli: Any, hostile_zenodo: dict[str, Any]) -> None:
    hostile_zenodo.update(body=gz(zeros_gz(64 * MiB)),
                          headers={"content-type": "application/json", "content-encoding": "gzip, gzip"})
    run = cli("ls", DOI)
    assert run.code == 6, run.err
    assert "more than one Content-Encoding" in run.err and "Traceback" not in run.err
