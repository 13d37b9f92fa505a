"""The fake internet itself: TLS through the proxy, each site's wire format, ranges, every quirk.

Everything goes through ``net.activated()`` + a normal ``httpx`` client, i.e. through
``HTTPS_PROXY`` and ``SSL_CERT_FILE`` exactly as doi2data's own client will.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import ssl
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doi2data.sandbox import DEMO_DOI, DEMO_HANDLE, FakeInternet, FileSpec, Quirk, World
from doi2data.sandbox.sites.common import parse_range

RECID = "1215979"
API = f"https://zenodo.org/api/records/{RECID}"
FRAME = "images/frame_0002.cbf"
FRAME_URL = f"{API}/files/images%2Fframe_0002.cbf/content"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FakeInternet]:
    with FakeInternet() as net:
        yield net


@pytest.fixture
def net(sandbox: FakeInternet) -> Iterator[FakeInternet]:
    sandbox.clear_quirks()
    sandbox.clear_log()
    with sandbox.activated():
        yield sandbox
    sandbox.clear_quirks()


@pytest.fixture
def client(net: FakeInternet) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- plumbing: TLS, env, refusal, plain HTTP --------------------------------------------------

def test_env_and_activation_restore(sandbox: FakeInternet) -> None:
    env = sandbox.env
    assert set(env) == {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "SSL_CERT_FILE", "NO_PROXY",
                        "no_proxy"}
    assert env["HTTPS_PROXY"] == sandbox.proxy_url and env["NO_PROXY"] == ""
    assert Path(sandbox.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
    before = os.environ.get("HTTPS_PROXY")
    with sandbox.activated():
        assert os.environ["HTTPS_PROXY"] == sandbox.proxy_url
    assert os.environ.get("HTTPS_PROXY") == before


def test_tls_is_verified_against_the_sandbox_ca(net: FakeInternet, client: httpx.Client) -> None:
    assert client.get("https://doi.org/").status_code == 200
    with httpx.Client(proxy=net.proxy_url, trust_env=False) as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.get("https://doi.org/")


def test_unknown_hosts_are_refused_never_passed_through(net: FakeInternet, client: httpx.Client) -> None:
    with pytest.raises(httpx.ProxyError):
        client.get("https://example.com/")
    assert client.get("http://example.com/x").status_code == 502
    refused = [r for r in net.log if r.host == "example.com"]
    assert [r.status for r in refused] == [502, 502] and refused[0].method == "CONNECT"


def test_plain_http_proxying(net: FakeInternet, client: httpx.Client) -> None:
    r = client.get(f"http://dx.doi.org/{DEMO_DOI}")
    assert r.status_code == 302 and r.headers["location"] == f"https://zenodo.org/records/{RECID}"
    r = client.get(f"http://zenodo.org/api/records/{RECID}")
    assert r.status_code == 200 and r.json()["id"] == int(RECID)
    assert [r.scheme for r in net.log] == ["http", "http"]


def test_log_records_requests(net: FakeInternet, client: httpx.Client) -> None:
    client.get(f"{API}?x=1", headers={"X-Test": "yes"})
    (rec,) = net.log
    assert (rec.method, rec.host, rec.path, rec.query, rec.status) == ("GET", "zenodo.org", f"/api/records/{RECID}",
                                                                       "x=1", 200)
    assert rec.headers["x-test"] == "yes" and rec.bytes_sent > 1000


# -- doi.org / hdl.handle.net / DataCite ------------------------------------------------------

def test_handle_api(client: httpx.Client) -> None:
    doc = client.get(f"https://doi.org/api/handles/{DEMO_DOI.upper()}").json()
    assert doc["responseCode"] == 1 and doc["handle"] == DEMO_DOI.upper()
    url = next(v for v in doc["values"] if v["type"] == "URL")
    assert url["data"] == {"format": "string", "value": f"https://zenodo.org/records/{RECID}"}
    assert {v["type"] for v in doc["values"]} == {"URL", "HS_ADMIN"}
    only = client.get("https://doi.org/api/handles/10.5281%2Fzenodo.1215979", params={"type": "URL"}).json()
    assert [v["type"] for v in only["values"]] == ["URL"]
    missing = client.get("https://doi.org/api/handles/10.5281/zenodo.999999999")
    assert missing.status_code == 404
    assert missing.json() == {"responseCode": 100, "handle": "10.5281/zenodo.999999999"}
    hdl = client.get(f"https://hdl.handle.net/api/handles/{DEMO_HANDLE}").json()
    assert hdl["values"][0]["data"]["value"] == f"https://zenodo.org/records/{RECID}"


def test_doi_redirect_and_ra(client: httpx.Client) -> None:
    r = client.get("https://doi.org/10.5281/ZENODO.1215979")
    assert r.status_code == 302 and r.headers["location"] == f"https://zenodo.org/records/{RECID}"
    assert client.head(f"https://doi.org/{DEMO_DOI}").status_code == 302
    assert client.get("https://doi.org/10.5281/zenodo.999999999").status_code == 404
    assert client.get("https://doi.org/10.99999/unsupported.1").headers["location"] == "https://data.example.org/ds/1"
    landing = client.get(f"https://doi.org/{DEMO_DOI}", follow_redirects=True)
    assert landing.status_code == 200 and 'rel="cite-as"' in landing.headers["link"]
    assert client.get(f"https://hdl.handle.net/{DEMO_HANDLE}").headers["location"].endswith(RECID)
    assert client.get("https://doi.org/ra/10.5281").json() == [{"DOI": "10.5281", "RA": "DataCite"}]
    assert client.get("https://doi.org/ra/10.5281/zenodo.999999999").json()[0]["status"] == "DOI does not exist"


def test_datacite_json_api(client: httpx.Client) -> None:
    r = client.get(f"https://api.datacite.org/dois/{DEMO_DOI.upper()}", params={"include": "media,client"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = r.json()["data"]
    attrs = data["attributes"]
    assert data["id"] == DEMO_DOI and data["type"] == "dois"
    assert attrs["doi"] == DEMO_DOI and attrs["prefix"] == "10.5281" and attrs["suffix"] == "zenodo.1215979"
    assert attrs["titles"] == [{"title": "Sandbox diffraction images (doi2data demo)"}]
    assert attrs["publisher"] == "Zenodo" and isinstance(attrs["publicationYear"], int)
    assert attrs["types"]["resourceTypeGeneral"] == "Dataset" and attrs["contentUrl"] is None
    assert attrs["url"] == f"https://zenodo.org/records/{RECID}" and attrs["state"] == "findable"
    creator = attrs["creators"][0]
    assert set(creator) >= {"name", "nameType", "givenName", "familyName", "affiliation", "nameIdentifiers"}
    assert data["relationships"]["client"]["data"]["id"] == "cern.zenodo"
    assert r.json()["included"][0]["attributes"]["name"] == "Zenodo"
    assert "included" not in client.get(f"https://api.datacite.org/dois/{DEMO_DOI}").json()
    concept = client.get("https://api.datacite.org/dois/10.5281/zenodo.1215978").json()["data"]["attributes"]
    assert {"relationType": "HasVersion", "relatedIdentifier": DEMO_DOI, "relatedIdentifierType": "DOI"} \
        in concept["relatedIdentifiers"]
    missing = client.get("https://api.datacite.org/dois/10.5281/zenodo.999999999")
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == "404"


# -- Zenodo -----------------------------------------------------------------------------------

def test_zenodo_record_files_and_content(net: FakeInternet, client: httpx.Client) -> None:
    r = client.get(API)
    doc = r.json()
    assert r.headers["x-ratelimit-limit"] and r.headers["x-ratelimit-remaining"] and r.headers["x-ratelimit-reset"]
    assert doc["recid"] == RECID and doc["id"] == int(RECID) and doc["conceptrecid"] == "1215978"
    assert doc["metadata"]["title"].startswith("Sandbox diffraction") and doc["links"]["files"] == f"{API}/files"
    keys = {f["key"] for f in doc["files"]}
    assert {"notes/run log.txt", "données/été.csv", "tmp/scratch.json"} <= keys and len(keys) == 8
    for entry in doc["files"]:
        body = client.get(entry["links"]["self"])
        assert body.status_code == 200 and body.headers["accept-ranges"] == "bytes"
        assert entry["checksum"] == f"md5:{md5(body.content)}" == f"md5:{net.world.checksum(RECID, entry['key'])}"
        assert body.headers["etag"] == f'"{md5(body.content)}"' and int(body.headers["content-length"]) == entry["size"]
    listing = client.get(f"{API}/files").json()
    assert listing["enabled"] is True and {e["key"] for e in listing["entries"]} == keys
    assert all(e["status"] == "completed" and e["links"]["content"].endswith("/content") for e in listing["entries"])
    raw_key = client.get(f"{API}/files/notes/run log.txt/content")
    assert raw_key.content == net.world.file_bytes(RECID, "notes/run log.txt")


def test_zenodo_redirects_and_errors(client: httpx.Client) -> None:
    concept = client.get("https://zenodo.org/api/records/1215978")
    assert concept.status_code == 301 and concept.headers["location"] == API
    assert client.get("https://zenodo.org/api/records/1215978", follow_redirects=True).json()["recid"] == RECID
    assert client.get(f"https://zenodo.org/record/{RECID}").headers["location"] == f"https://zenodo.org/records/{RECID}"
    www = client.get(f"https://www.zenodo.org/records/{RECID}")
    assert www.status_code == 301 and www.headers["location"] == f"https://zenodo.org/records/{RECID}"
    assert client.get(f"{API}/versions/latest").headers["location"] == API
    missing = client.get("https://zenodo.org/api/records/999999999")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert client.get(f"{API}/files/nope.txt/content").status_code == 404
    landing = client.get(f"https://zenodo.org/records/{RECID}")
    assert "application/ld+json" in landing.text and 'rel="item"' in landing.headers["link"]
    assert client.get("https://zenodo.org/api/nothing/here").json()["status"] == 404


def test_zenodo_files_archive(net: FakeInternet, client: httpx.Client) -> None:
    r = client.get(f"{API}/files-archive")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.read("données/été.csv") == net.world.file_bytes(RECID, "données/été.csv")
        assert len(archive.namelist()) == 8
    assert client.get("https://zenodo.org/api/records/7000002/files-archive").status_code == 403


def test_zenodo_shapes(net: FakeInternet, client: httpx.Client) -> None:
    legacy = client.get("https://zenodo.org/api/records/3459420").json()
    assert "recid" not in legacy and legacy["links"]["html"] == "https://zenodo.org/record/3459420"
    entry = legacy["files"][0]
    assert set(entry) == {"bucket", "checksum", "key", "links", "size", "type"}
    assert entry["links"]["self"].startswith(f"https://zenodo.org/api/files/{entry['bucket']}/")
    assert md5(client.get(entry["links"]["self"]).content) == entry["checksum"][4:]
    migrated = client.get("https://zenodo.org/api/records/8173303").json()["files"][0]
    assert set(migrated) == {"checksum", "filename", "filesize", "id", "links"} and ":" not in migrated["checksum"]
    assert client.get(migrated["links"]["self"]).status_code == 404
    assert client.get(f"https://zenodo.org/api/records/8173303/files/{migrated['filename']}/content").status_code == 200
    raw = client.get("https://zenodo.org/api/records/3871094").json()["files"]
    assert any(" " in f["links"]["self"] for f in raw) and any("front-matter/" in f["links"]["self"] for f in raw)
    for f in raw:
        assert md5(client.get(f["links"]["self"]).content) == f["checksum"][4:]
    hostile = client.get("https://zenodo.org/api/records/7000001").json()["files"]
    assert {"../escape.txt", "/abs/path.txt", "a/./b.txt", "C:\\win.txt", "dup.txt", "Dup.txt"} <= {
        f["key"] for f in hostile}
    for f in hostile:
        assert client.get(f["links"]["self"]).content == net.world.file_bytes("7000001", f["key"])


def test_restricted_and_embargoed(net: FakeInternet, client: httpx.Client) -> None:
    assert net.world.restricted_dois() == ["10.5281/zenodo.7000002", "10.5281/zenodo.7000003"]
    restricted = client.get("https://zenodo.org/api/records/7000002").json()
    assert restricted["metadata"]["access_right"] == "restricted" and restricted["access"]["files"] == "restricted"
    assert client.get(restricted["files"][0]["links"]["self"]).status_code == 403
    assert client.get("https://zenodo.org/api/records/7000002/files").status_code == 403
    embargoed = client.get("https://zenodo.org/api/records/7000003").json()
    assert embargoed["metadata"]["access_right"] == "embargoed" and embargoed["metadata"]["embargo_date"]
    assert embargoed["access"]["embargo"]["active"] is True
    assert client.get(embargoed["files"][0]["links"]["self"]).status_code == 403


# -- ranges -------------------------------------------------------------------------------------

def test_ranges_and_if_range(net: FakeInternet, client: httpx.Client) -> None:
    full = net.world.file_bytes(RECID, FRAME)
    size = len(full)
    head = client.head(FRAME_URL)
    etag, modified = head.headers["etag"], head.headers["last-modified"]
    assert head.headers["content-length"] == str(size) and head.content == b""
    r = client.get(FRAME_URL, headers={"Range": "bytes=100-65635"})
    assert r.status_code == 206 and r.content == full[100:65636]
    assert r.headers["content-range"] == f"bytes 100-65635/{size}"
    assert client.get(FRAME_URL, headers={"Range": f"bytes={size - 10}-"}).content == full[-10:]
    assert client.get(FRAME_URL, headers={"Range": "bytes=-7"}).content == full[-7:]
    unsat = client.get(FRAME_URL, headers={"Range": f"bytes={size}-"})
    assert unsat.status_code == 416 and unsat.headers["content-range"] == f"bytes */{size}"
    assert client.get(FRAME_URL, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    assert client.get(FRAME_URL, headers={"Range": "bytes=0-9", "If-Range": modified}).status_code == 206
    stale = client.get(FRAME_URL, headers={"Range": "bytes=0-9", "If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.content == full
    assert client.get(FRAME_URL, headers={"If-None-Match": etag}).status_code == 304


def test_parse_range() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 1)
    assert parse_range("bytes=5-100", 10) == (5, 10)
    assert parse_range("bytes=-0", 10) == "unsatisfiable"
    assert parse_range("bytes=0-1,3-4", 10) is None and parse_range("items=0-1", 10) is None
    assert parse_range("bytes=5-2", 10) is None and parse_range("bytes=10-", 10) == "unsatisfiable"


# -- quirks -------------------------------------------------------------------------------------

def test_quirk_status_times_and_removal(net: FakeInternet, client: httpx.Client) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="status", status=429,
                        headers={"Retry-After": "1"}, times=1))
    first = client.get(FRAME_URL)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert client.get(FRAME_URL).status_code == 200
    handle = net.add_quirk(Quirk(host="doi.org", path="/api/handles/*", kind="status", status=503))
    assert client.get(f"https://doi.org/api/handles/{DEMO_DOI}").status_code == 503
    assert client.get(f"https://doi.org/{DEMO_DOI}").status_code == 302  # path glob did not match
    net.remove_quirk(handle)
    assert client.get(f"https://doi.org/api/handles/{DEMO_DOI}").status_code == 200


def test_quirk_latency_and_slow(net: FakeInternet, client: httpx.Client) -> None:
    net.add_quirk(Quirk(host="doi.org", kind="latency", seconds=0.4, times=1))
    start = time.monotonic()
    client.get("https://doi.org/")
    assert time.monotonic() - start >= 0.4
    net.add_quirk(Quirk(path="*frame_0002*", kind="slow", rate=400_000, times=1))
    start = time.monotonic()
    r = client.get(FRAME_URL, headers={"Range": "bytes=0-199999"})
    assert r.status_code == 206 and len(r.content) == 200_000 and time.monotonic() - start >= 0.4


def test_quirk_no_range(net: FakeInternet, client: httpx.Client) -> None:
    net.add_quirk(Quirk(path="*frame_0002*", kind="no-range"))
    r = client.get(FRAME_URL, headers={"Range": "bytes=10-20"})
    assert r.status_code == 200 and "accept-ranges" not in r.headers
    assert r.content == net.world.file_bytes(RECID, FRAME)


def test_quirk_change(net: FakeInternet, client: httpx.Client) -> None:
    before = client.head(FRAME_URL).headers
    net.add_quirk(Quirk(path="*frame_0002*", kind="change"))
    changed = client.get(FRAME_URL, headers={"Range": "bytes=0-99", "If-Range": before["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != before["etag"]
    assert changed.headers["last-modified"] != before["last-modified"]
    assert changed.content != net.world.file_bytes(RECID, FRAME) and len(changed.content) == len(
        net.world.file_bytes(RECID, FRAME))


def test_quirk_corrupt_flips_one_byte_of_the_resource(net: FakeInternet, client: httpx.Client) -> None:
    full = net.world.file_bytes(RECID, FRAME)
    net.add_quirk(Quirk(path="*frame_0002*", kind="corrupt", offset=70_000, times=2))
    assert client.head(FRAME_URL).status_code == 200  # no body: not counted
    whole = client.get(FRAME_URL).content
    assert [i for i in range(len(full)) if whole[i] != full[i]] == [70_000]
    untouched = client.get(FRAME_URL, headers={"Range": "bytes=0-999"})  # does not cover it: not counted
    assert untouched.content == full[:1000]
    part = client.get(FRAME_URL, headers={"Range": "bytes=69000-70999"}).content
    assert part[1000] != full[70_000] and part[:1000] == full[69_000:70_000]
    assert client.get(FRAME_URL).content == full  # times=2 used up


def test_quirk_reset_and_truncate(net: FakeInternet, client: httpx.Client) -> None:
    size = len(net.world.file_bytes(RECID, FRAME))
    net.add_quirk(Quirk(path="*frame_0002*", kind="reset", after_bytes=100_000, times=1))
    got = bytearray()
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        with client.stream("GET", FRAME_URL) as r:
            assert r.headers["content-length"] == str(size)
            for chunk in r.iter_raw():
                got += chunk
    assert len(got) <= 100_000
    net.add_quirk(Quirk(path="*frame_0002*", kind="truncate", after_bytes=50_000, times=1))
    got = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("GET", FRAME_URL) as r:
            for chunk in r.iter_raw():
                got += chunk
    assert len(got) == 50_000
    assert client.get(FRAME_URL).content == net.world.file_bytes(RECID, FRAME)


def test_quirk_stall_trips_read_timeout(net: FakeInternet) -> None:
    net.add_quirk(Quirk(path="*frame_0002*", kind="stall", after_bytes=1000, seconds=3, times=1))
    with httpx.Client(timeout=httpx.Timeout(10, read=0.5)) as c, pytest.raises(httpx.ReadTimeout):
        c.get(FRAME_URL)
    with httpx.Client(timeout=5) as c:
        assert c.get(FRAME_URL).status_code == 200


def test_quirk_validation() -> None:
    with pytest.raises(ValueError):
        Quirk(kind="explode")


# -- concurrency and speed ------------------------------------------------------------------------

def test_many_parallel_keepalive_requests(net: FakeInternet) -> None:
    keys = ["images/frame_0001.cbf", "images/frame_0002.cbf", "images/frame_0003.cbf", "README.json"]
    want = {k: net.world.checksum(RECID, k) for k in keys}

    async def run() -> list[bool]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=24)) as c:
            async def one(i: int) -> bool:
                key = keys[i % len(keys)]
                r = await c.get(f"{API}/files/{key.replace('/', '%2F')}/content")
                return md5(r.content) == want[key]
            return await asyncio.gather(*(one(i) for i in range(48)))

    assert all(asyncio.run(run()))


def test_proxy_throughput(net: FakeInternet, client: httpx.Client) -> None:
    url = "https://zenodo.org/api/records/7000100/files/bulk%2Flarge.bin/content"
    client.head(url)  # the ETag needs the md5: computed once, outside the timing
    start, size = time.perf_counter(), 0
    with client.stream("GET", url) as r:
        for chunk in r.iter_raw(1 << 20):
            size += len(chunk)
    rate = size / (time.perf_counter() - start) / 1e6
    print(f"\nsandbox proxy throughput (httpx, TLS, one stream): {rate:.0f} MB/s")
    assert size == 64 * 1024 * 1024 + 123 and rate > 20


# -- the world --------------------------------------------------------------------------------------

def test_world_lookups(sandbox: FakeInternet) -> None:
    world = sandbox.world
    assert world.doi("10.5281/ZENODO.1215979").record.recid == RECID  # type: ignore[union-attr]
    assert world.doi("doi:10.5281/zenodo.1215978").concept_of == "1215978"  # type: ignore[union-attr]
    assert world.doi("10.5281/zenodo.999999999") is None
    assert world.latest("1215978").recid == RECID  # type: ignore[union-attr]
    assert len(world.record("1215900").files) < len(world.record(RECID).files)  # type: ignore[union-attr]
    data = world.file_bytes(RECID, "README.json")
    assert world.checksum(RECID, "README.json", "sha256") == hashlib.sha256(data).hexdigest()


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 300_000), a=st.integers(0, 300_000), b=st.integers(0, 300_000))
def test_world_ranges_are_slices_of_the_whole(size: int, a: int, b: int) -> None:
    world = World()
    spec = FileSpec("x.bin", size, seed=f"prop:{size}")
    whole = world.read(spec)
    start, end = min(a, b), max(a, b)
    assert len(whole) == size and world.read(spec, start, end) == whole[start:end]
    assert world.read(spec, variant=1) != whole or size == 0


def test_if_range_date_must_match_exactly(net: FakeInternet, client: httpx.Client) -> None:
    modified = datetime.strptime(client.head(FRAME_URL).headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT")
    earlier = format_datetime((modified - timedelta(seconds=5)).replace(tzinfo=timezone.utc), usegmt=True)
    assert client.get(FRAME_URL, headers={"Range": "bytes=0-9", "If-Range": earlier}).status_code == 200


def test_restart_gives_a_fresh_working_sandbox() -> None:
    net = FakeInternet()
    with net:
        ca = net.ca_file
    assert not Path(ca).exists()  # the CA's temp dir goes with stop()
    with pytest.raises(RuntimeError):
        _ = net.proxy_url
    with net, net.activated(), httpx.Client() as c:
        assert c.get(f"https://doi.org/api/handles/{DEMO_DOI}").json()["responseCode"] == 1


def test_module_runs_in_the_foreground() -> None:
    with subprocess.Popen([sys.executable, "-m", "doi2data.sandbox"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(8)]
            env = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines)
            proxy, ca = env["HTTPS_PROXY"], env["SSL_CERT_FILE"]
            with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=ca)) as c:
                assert c.get(f"https://doi.org/{DEMO_DOI}").status_code == 302
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(10) == 0
    assert not Path(ca).exists()
