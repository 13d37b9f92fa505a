"""The gateway end to end: a real uvicorn server in front of the sandbox (emulated doi.org,
DataCite, Zenodo behind a TLS proxy), driven with a plain HTTP client as users would."""

from __future__ import annotations

import gc
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("jinja2")

from doi2data.sandbox import FakeInternet, Quirk  # noqa: E402
from doi2data.service import GatewayConfig, create_app  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"
RESTRICTED = "10.5281/zenodo.7000002"


def start(internet: FakeInternet, tmp: Path, **overrides: object) -> GatewayServer:
    """A gateway that may reach the sandbox's hosts (allow-listed explicitly, as an operator would)."""
    settings: dict[str, object] = {"cache_url": "memory:", "allow_hosts": tuple(internet.hosts), "rate": 0,
                                   "access_log": str(tmp / "access.log")}
    settings.update(overrides)
    dns = settings.pop("dns", None)
    with internet.activated():  # the gateway's HTTP client reads HTTPS_PROXY / SSL_CERT_FILE when made
        app = create_app(GatewayConfig(**settings), dns=dns)  # type: ignore[arg-type]
        return GatewayServer(app).start()


@pytest.fixture(scope="module")
def gateway(internet: FakeInternet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    server = start(internet, tmp_path_factory.mktemp("gw"))
    yield server
    server.stop()


@pytest.fixture
def http(gateway: GatewayServer, net: FakeInternet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=30) as client:
        yield client


def world_bytes(net: FakeInternet, key: str, recid: str = RECID) -> bytes:
    return net.world.file_bytes(recid, key)


def test_negotiation_and_signposting(http: httpx.Client) -> None:
    cases = {"application/json": "application/json", "text/html": "text/html; charset=utf-8",
             "application/metalink4+xml": "application/metalink4+xml; charset=utf-8",
             "application/linkset+json": "application/linkset+json; charset=utf-8",
             "*/*": "application/json"}
    for accept, media in cases.items():
        r = http.get(f"/{DOI}", headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == media, (accept, r.text[:200])
        assert r.headers["vary"] == "Accept"
        links = httpx.Response(200, headers={"Link": r.headers["link"]}).links
        rels = {v["rel"] for v in links.values()}
        assert {"cite-as", "describedby", "type", "license", "item", "linkset"} <= rels, rels
    manifest = http.get(f"/{DOI}").json()
    assert manifest["doi"] == DOI and manifest["file_count"] == 8
    items = [part for part in r.headers["link"].split(", <") if 'rel="item"' in part]
    assert len(items) == 8
    linkset = http.get(f"/{DOI}", headers={"Accept": "application/linkset+json"}).json()["linkset"]
    assert linkset[0]["cite-as"] == [{"href": f"https://doi.org/{DOI}"}] and len(linkset[0]["item"]) == 8
    metalink = http.get(f"/{DOI}?format=metalink").text
    assert metalink.count("<file ") == 8 and "urn:ietf:params:xml:ns:metalink" in metalink
    assert http.get(f"/{DOI}", headers={"Accept": "image/png"}).status_code == 406


def test_item_links_fetch_each_file(http: httpx.Client, net: FakeInternet) -> None:
    r = http.get(f"/{DOI}")
    for part in r.headers["link"].split(", "):
        if 'rel="item"' in part:
            url = part[1:part.index(">")]
            got = http.get(url)
            assert got.status_code == 302 and got.headers["location"].startswith("https://zenodo.org/"), url
    one = http.get(f"/{DOI}?file=/données/été.csv&mode=stream")
    assert one.status_code == 200 and one.content == world_bytes(net, "données/été.csv")


def test_cache_headers_and_conditional_requests(http: httpx.Client) -> None:
    first = http.get(f"/{DOI}")
    second = http.get(f"/{DOI}")
    assert second.headers["x-cache"] == "hit" and "max-age=" in second.headers["cache-control"]
    assert "stale-while-revalidate=" in second.headers["cache-control"]
    assert first.headers["etag"] == second.headers["etag"]
    assert http.get(f"/{DOI}", headers={"If-None-Match": second.headers["etag"]}).status_code == 304
    head = http.head(f"/{DOI}")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(second.content))


def test_selection_same_as_cli(http: httpx.Client) -> None:
    paths = [f["path"] for f in http.get(f"/{DOI}", params={"include": "*.json", "exclude": "tmp"}).json()["files"]]
    assert paths == ["README.json", "metadata/experiment.json"]
    several = http.get(f"/{DOI}", params={"file": "*.cbf"})
    assert several.status_code == 300 and several.json()["file_count"] == 3
    assert http.get(f"/{DOI}", params={"file": "*.nothing"}).status_code == 404
    bad = http.get(f"/{DOI}", params={"include": "a[b"})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert http.get(f"/{DOI}", params={"frobnicate": "1"}).status_code == 400
    assert http.get(f"/{DOI}", params={"_": "123"}).status_code == 200


def test_single_file_redirect_stream_and_ranges(http: httpx.Client, net: FakeInternet) -> None:
    key = "images/frame_0002.cbf"
    r = http.get(f"/{DOI}", params={"file": key})
    assert r.status_code == 302 and r.headers["location"].startswith("https://zenodo.org/")
    assert 'rel="collection"' in r.headers["link"]
    full = http.get(f"/{DOI}", params={"file": key, "mode": "stream"})
    assert full.status_code == 200 and full.content == world_bytes(net, key)
    assert 'filename="frame_0002.cbf"' in full.headers["content-disposition"]
    part = http.get(f"/{DOI}", params={"file": key, "mode": "stream"}, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == world_bytes(net, key)[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(world_bytes(net, key))}"
    sent = [rec for rec in net.log if rec.host == "zenodo.org" and rec.headers.get("range") == "bytes=100-199"]
    assert sent, "the Range header reached the origin"
    head = http.head(f"/{DOI}", params={"file": key, "mode": "stream"})
    assert head.status_code == 200 and head.headers["content-length"] == str(len(world_bytes(net, key)))


def test_no_credentials_are_forwarded(http: httpx.Client, net: FakeInternet) -> None:
    http.get(f"/{DOI}", params={"file": "README.json", "mode": "stream"},
             headers={"Authorization": "Bearer secret", "Cookie": "session=1"})
    for rec in net.log:
        assert "authorization" not in rec.headers and "cookie" not in rec.headers


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_streams_with_exact_length(http: httpx.Client, net: FakeInternet, kind: str) -> None:
    with http.stream("GET", f"/{DOI}", params={"file": ["*.cbf", "*.json"], "exclude": "tmp", "archive": kind}) as r:
        assert r.status_code == 200
        body = r.read()
    assert int(r.headers["content-length"]) == len(body)
    want = ["images/frame_0001.cbf", "images/frame_0002.cbf", "images/frame_0003.cbf", "README.json",
            "metadata/experiment.json"]
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            assert zf.testzip() is None
            got = {n: zf.read(n) for n in zf.namelist()}
    else:
        with tarfile.open(fileobj=io.BytesIO(body)) as tf:
            got = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == world_bytes(net, name)
    assert r.headers["x-doi2data-members"] == "5"


def test_archive_of_whole_dataset_with_unicode_names(http: httpx.Client, net: FakeInternet) -> None:
    r = http.get(f"/{DOI}", params={"archive": "zip"})
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.read("données/été.csv") == world_bytes(net, "données/été.csv")
        assert len(zf.namelist()) == 8


def test_archive_aborts_on_checksum_mismatch(http: httpx.Client, net: FakeInternet) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/frame_0002.cbf/content", kind="corrupt", offset=1000))
    with pytest.raises(httpx.HTTPError):
        with http.stream("GET", f"/{DOI}", params={"file": "*.cbf", "archive": "zip"}) as r:
            assert r.status_code == 200
            r.read()  # shorter than Content-Length: the connection was cut


def test_single_file_aborts_on_checksum_mismatch(http: httpx.Client, net: FakeInternet) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/frame_0001.cbf/content", kind="corrupt", offset=5))
    with pytest.raises(httpx.HTTPError):
        with http.stream("GET", f"/{DOI}", params={"file": "frame_0001.cbf", "mode": "stream"}) as r:
            r.read()


def test_archive_resumes_a_dropped_origin_connection(http: httpx.Client, net: FakeInternet) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/frame_0003.cbf/content", kind="reset", after_bytes=300_000,
                        times=1))
    r = http.get(f"/{DOI}", params={"file": "frame_0003.cbf", "archive": "zip"})
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.read("images/frame_0003.cbf") == world_bytes(net, "images/frame_0003.cbf")
    ranged = [rec.headers.get("range") for rec in net.log if rec.path.endswith("frame_0003.cbf/content")]
    assert any(h and h.startswith("bytes=") for h in ranged), ranged


def test_restricted_files_are_not_served(http: httpx.Client) -> None:
    assert http.get(f"/{RESTRICTED}", params={"archive": "zip"}).status_code == 403
    assert http.get(f"/{RESTRICTED}", params={"file": "secret.h5"}).status_code == 403


def test_problem_json_maps_the_error_tree(http: httpx.Client) -> None:
    cases = {"/10.5281/zenodo.999999999": 404, "/not-a-doi": 400, "/https://evil.example/x": 400,
             "/10.99999/unsupported.1": 422}
    for path, status in cases.items():
        r = http.get(path)
        assert r.status_code == status, (path, r.text)
        body = r.json()
        assert r.headers["content-type"] == "application/problem+json" and body["status"] == status
        assert {"type", "title", "detail", "error", "exit_code"} <= set(body)
    html = http.get("/not-a-doi", headers={"Accept": "text/html"})
    assert html.status_code == 400 and "not a DOI" in html.text  # browsers get the page back, with the message


def test_subset_routes_are_defined(http: httpx.Client) -> None:
    from doi2data.service.subsets import subset_module

    r = http.get(f"/{DOI}", params={"file": "README.json", "list": "members"})
    if subset_module() is None:  # no gateway entry point: not a zip -> 501 "not implemented yet"
        assert r.status_code == 501 and "not implemented yet" in r.json()["detail"]
    for params in ({"dataset": "/entry/data", "slice": "0:2"}, {"where": "omega > 1"}):
        if subset_module() is None:
            assert http.get(f"/{DOI}", params={"file": "README.json", **params}).status_code == 501
    # zip listings reach doi2data.subset.zipremote (the sandbox's .zip holds generated bytes: 502)
    z = http.get("/10.5281/zenodo.3871094", params={"file": "*.zip", "list": "members"})
    assert z.status_code in (200, 502) and z.status_code != 501, z.text
    assert http.get(f"/{DOI}", params={"extract": "x"}).status_code == 400  # needs file=


def test_canonical_redirect_and_home(http: httpx.Client) -> None:
    r = http.get(f"/doi:{DOI}", params={"format": "json"})
    assert r.status_code == 308 and r.headers["location"].endswith(f"/{DOI}?format=json")
    r = http.get("/", params={"doi": f"https://doi.org/{DOI}"})
    assert r.status_code == 303 and r.headers["location"].endswith(f"/{DOI}")
    assert "DOI" in http.get("/").text


def test_openapi_docs_health(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/{identifier}" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/{identifier}"]["get"]["parameters"]}
    assert {"file", "archive", "extract", "list", "dataset", "slice", "where", "include", "exclude"} <= params
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    if "/docs/assets" in docs.text:
        assert http.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    health = http.get("/healthz").json()
    assert health["status"] == "ok" and health["cache"] == "memory"


def test_access_log_is_json_lines(gateway: GatewayServer, http: httpx.Client) -> None:
    http.get(f"/{DOI}?format=csv", headers={"User-Agent": "log-test"})
    log_path = Path(gateway.app.gateway.config.access_log)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10  # the line is written once the response is fully sent
    while True:
        lines = [json.loads(line) for line in log_path.read_text().splitlines()]
        mine = [rec for rec in lines if rec["ua"] == "log-test"]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert mine and mine[-1]["status"] == 200 and mine[-1]["doi"] == DOI and mine[-1]["cache"] in ("hit", "miss")
    assert {"ts", "client", "method", "path", "query", "bytes", "ms"} <= set(mine[-1])


def test_private_destinations_are_refused(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    """The sandbox is not allow-listed here; DNS says zenodo.org is on loopback: refused."""
    async def dns(host: str) -> list[str]:
        return ["127.0.0.1"] if host == "zenodo.org" else ["93.184.216.34"]

    server = start(internet, tmp_path, allow_hosts=(), dns=dns)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            r = client.get(f"/{DOI}")
            assert r.status_code == 403 and r.json()["error"] == "DestinationRefused", r.text
            assert not [rec for rec in net.log if rec.host == "zenodo.org"]  # never contacted
    finally:
        server.stop()


def test_limits(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    server = start(internet, tmp_path, rate=1, burst=3, max_streams=1, max_query_bytes=200,
                   max_archive_size=1_000_000)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            assert client.get(f"/{DOI}", params={"q": "x" * 300}).status_code == 414
            big = client.get(f"/{DOI}", params={"archive": "zip"})
            assert big.status_code == 413
            statuses = [client.get(f"/{DOI}").status_code for _ in range(4)]
            assert 429 in statuses and client.get(f"/{DOI}").headers.get("retry-after")
        server.app.gateway.limits.bucket.rate = 0  # type: ignore[attr-defined]
        net.add_quirk(Quirk(host="zenodo.org", path="*/frame_0003.cbf/content", kind="slow", rate=2_000_000))
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as one, \
                httpx.Client(base_url=server.url, trust_env=False, timeout=30) as two:
            with one.stream("GET", f"/{DOI}", params={"file": "frame_0003.cbf", "mode": "stream"}) as slow:
                assert slow.status_code == 200
                busy = two.get(f"/{DOI}", params={"file": "README.json", "mode": "stream"})
                assert busy.status_code == 429
                slow.read()
            assert two.get(f"/{DOI}", params={"file": "README.json", "mode": "stream"}).status_code == 200
    finally:
        server.stop()


def test_sqlite_cache_survives_a_restart(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    cache = f"sqlite:///{tmp_path}/cache.sqlite"
    for expected in ("miss", "hit"):
        server = start(internet, tmp_path, cache_url=cache)
        try:
            r = httpx.get(f"{server.url}/{DOI}", trust_env=False, timeout=30)
            assert r.headers["x-cache"] == expected
        finally:
            server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_serve_command(net: FakeInternet, tmp_path: Path) -> None:
    """``doi2data serve`` as a user runs it. (When a client process exits, the sandbox's proxy drops a
    StreamWriter without closing it; that warning is collected here rather than in a later test.)"""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    cmd = [sys.executable, "-m", "doi2data", "serve", "--port", str(port), "--cache", str(tmp_path / "c.sqlite"),
           "--access-log", str(tmp_path / "access.log"), *(a for h in net.hosts for a in ("--allow-host", h))]
    errors = (tmp_path / "stderr.txt").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errors, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/{DOI}", trust_env=False, timeout=30)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "stderr.txt").read_text() or "no server")
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["doi"] == DOI
    finally:
        proc.terminate()
        proc.wait(15)
        errors.close()
        time.sleep(0.5)
        gc.collect()
    assert (tmp_path / "c.sqlite").exists() and '"status":200' in (tmp_path / "access.log").read_text()
