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
                                   "access_log": str(tmp / "access.log"), "origin_rates": ("zenodo.org=0",)}
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


def test_subset_parameters_are_validated(http: httpx.Client) -> None:
    cases = [({"file": "README.json", "list": "everything"}, "list takes one value"),
             ({"extract": "x"}, "need file="),
             ({"file": "*.cbf", "dataset": "/entry/data"}, "exactly one file"),
             ({"file": "README.json", "slice": "0:2"}, "slice needs dataset"),
             ({"file": "README.json", "extract": "a", "dataset": "/b"}, "cannot be combined"),
             ({"file": "README.json", "where": "omega > 1", "dataset": "/b"}, "cannot be combined"),
             ({"file": "README.json", "list": "members", "archive": "zip"}, "archive= combines"),
             ({"file": "README.json", "list": "members"}, "not an archive")]
    for params, words in cases:
        r = http.get(f"/{DOI}", params=params)
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", (params, r.text)
        assert words in r.json()["detail"], (params, r.json())
    assert http.get(f"/{RESTRICTED}", params={"file": "secret.h5", "dataset": "/x"}).status_code == 403


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


# -- subsets: HDF5 slices, frames by metadata, archive members ------------------------------------
ZIPS, H5, CBF = "10.5281/zenodo.7000400", "10.5281/zenodo.7000500", "10.5281/zenodo.154704"


def _local_files(net: FakeInternet, recid: str, keys: list[str], tmp: Path) -> Path:
    for key in keys:
        (tmp / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp / key).write_bytes(net.world.file_bytes(recid, key))
    return tmp


def test_hdf5_slice_as_npy_matches_h5py(http: httpx.Client, net: FakeInternet, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    h5py = pytest.importorskip("h5py")
    r = http.get(f"/{H5}", params={"file": "scan.h5", "dataset": "/entry/data/data", "slice": "10:12,5:50:3"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-npy" and int(r.headers["content-length"]) == len(r.content)
    assert r.headers["x-doi2data-shape"] == "2,15,256" and r.headers["x-doi2data-dtype"] == "<u2"
    assert r.headers["x-doi2data-selection"] == "/entry/data/data[10:12, 5:50:3, 0:256]"
    assert 'filename="scan.data.' in r.headers["content-disposition"] and r.headers["vary"] == "Accept"
    got = np.load(io.BytesIO(r.content), allow_pickle=False)
    local = _local_files(net, "7000500", ["scan.h5"], tmp_path)
    with h5py.File(local / "scan.h5") as f:
        assert np.array_equal(got, f["/entry/data/data"][10:12, 5:50:3])
    # brackets after dataset= and an integer index (keeps its axis, as in the CLI)
    r = http.get(f"/{H5}", params={"file": "scan.h5", "dataset": "/entry/data/data[7]"})
    assert np.load(io.BytesIO(r.content)).shape == (1, 256, 256)


def test_hdf5_slice_through_external_links_and_vds(http: httpx.Client, net: FakeInternet, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    h5py = pytest.importorskip("h5py")
    keys = [f["path"] for f in http.get(f"/{H5}").json()["files"] if f["path"].startswith("eiger/")]
    local = _local_files(net, "7000500", keys, tmp_path)
    r = http.get(f"/{H5}", params={"file": "eiger/series_master.h5", "dataset": "/entry/data/data", "slice": "3:9"})
    assert r.status_code == 200, r.text
    with h5py.File(local / "eiger/series_master.h5") as f:
        assert np.array_equal(np.load(io.BytesIO(r.content)), f["/entry/data/data"][3:9])


def test_hdf5_slice_formats_are_negotiated(http: httpx.Client) -> None:
    h5py = pytest.importorskip("h5py")
    params = {"file": "scan.h5", "dataset": "/entry/data/data", "slice": "0:2,0:3,0:4"}
    small = http.get(f"/{H5}", params={**params, "format": "json"}).json()
    assert small["shape"] == [2, 3, 4] and small["dtype"] == "<u2" and len(small["data"][1][2]) == 4
    assert http.get(f"/{H5}", params=params, headers={"Accept": "application/json"}).json()["data"] == small["data"]
    r = http.get(f"/{H5}", params=params, headers={"Accept": "application/x-hdf5"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-hdf5"
    assert int(r.headers["content-length"]) == len(r.content) and r.headers["content-disposition"].endswith('.h5')
    with h5py.File(io.BytesIO(r.content)) as f:
        assert f["/entry/data/data"].shape == (2, 3, 4) and f["/entry/data/data"][1, 2].tolist() == small["data"][1][2]
        assert f.attrs["doi2data_doi"] == H5 and f["/entry"].attrs["NX_class"] in (b"NXentry", "NXentry")
    assert http.get(f"/{H5}", params={**params, "format": "h5"}).headers["content-type"] == "application/x-hdf5"
    assert http.get(f"/{H5}", params=params, headers={"Accept": "image/png"}).status_code == 406
    assert http.get(f"/{H5}", params={**params, "format": "tiff"}).status_code == 400


@pytest.mark.parametrize(("params", "title"), [
    ({"file": "scan.h5", "dataset": "/entry/data/data", "slice": "1:x"}, "Invalid slice"),
    ({"file": "scan.h5", "dataset": "/entry/data/data", "slice": "0:2,0:2,0:2,0:2"}, "Invalid slice"),
    ({"file": "scan.h5", "dataset": "/entry/data/data", "slice": "99"}, "Invalid slice"),
    ({"file": "scan.h5", "dataset": "/entry/data/data[0:1]", "slice": "0:1"}, "Invalid slice"),
    ({"file": "scan.h5", "dataset": "/entry/nothing/here"}, "HDF5 dataset not found"),
    ({"file": "scan.h5", "dataset": "/entry/data"}, "HDF5 dataset not found"),
    ({"file": "scan.h5", "dataset": "/"}, "HDF5 dataset not found"),
])
def test_hdf5_slice_errors_are_400_problems(http: httpx.Client, params: dict[str, str], title: str) -> None:
    pytest.importorskip("h5py")
    r = http.get(f"/{H5}", params=params)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["title"] == title and r.json()["exit_code"] == 2, r.json()


def test_hdf5_slice_of_a_non_hdf5_file_and_size_limit(internet: FakeInternet, net: FakeInternet,
                                                      tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    server = start(internet, tmp_path, max_slice_bytes=200_000)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            r = client.get(f"/{DOI}", params={"file": "README.json", "dataset": "/x"})
            assert r.status_code == 400 and r.json()["title"] == "Not an HDF5 file", r.text
            r = client.get(f"/{H5}", params={"file": "scan.h5", "dataset": "/entry/data/data", "slice": "0:2"})
            assert r.status_code == 413 and "at most 200,000" in r.json()["detail"], r.text
            assert client.get(f"/{H5}", params={"file": "scan.h5", "dataset": "/entry/data/data",
                                                "slice": "0"}).status_code == 200  # one 256x256 uint16 frame: 128 KiB
    finally:
        server.stop()


def test_where_frame_table_as_json(http: httpx.Client) -> None:
    expr = "omega >= 90 and omega < 93 and chi == 0"
    r = http.get(f"/{CBF}", params={"where": expr})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    doc = r.json()
    assert doc["where"] == expr and doc["frame_count"] == 3 and doc["files_scanned"] == 120
    assert [f["file"] for f in doc["frames"]] == [f"images/lyso_1_{i:04d}.cbf" for i in (31, 32, 33)]
    assert all(90 <= f["omega"] < 93 and f["chi"] == 0 for f in doc["frames"])
    again = http.get(f"/{CBF}", params={"where": "chi == 45 and omega < 92"}).json()
    assert again["table_cached"] is True and again["frame_count"] == 2  # the table is kept, not rescanned
    narrowed = http.get(f"/{CBF}", params={"where": "omega < 200", "file": "images/lyso_1_00[01]?.cbf"}).json()
    assert narrowed["frame_count"] == 19 and narrowed["files_scanned"] == 19


def test_where_archive_holds_the_matching_frames(http: httpx.Client, net: FakeInternet) -> None:
    with http.stream("GET", f"/{CBF}", params={"where": "omega >= 90 and omega < 93 and chi == 0",
                                               "archive": "zip"}) as r:
        assert r.status_code == 200, r.read()
        body = r.read()
    assert int(r.headers["content-length"]) == len(body) and r.headers["x-doi2data-frames"] == "3"
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == [f"images/lyso_1_{i:04d}.cbf" for i in (31, 32, 33)]
        assert zf.read("images/lyso_1_0032.cbf") == world_bytes(net, "images/lyso_1_0032.cbf", "154704")


def test_where_archive_of_hdf5_frames(http: httpx.Client) -> None:
    h5py = pytest.importorskip("h5py")
    r = http.get(f"/{H5}", params={"where": "omega < 81", "file": "scan.h5", "archive": "tar"})
    assert r.status_code == 200, r.text
    assert int(r.headers["content-length"]) == len(r.content) and r.headers["x-doi2data-frames"] == "2"
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
        (member,) = tf.getmembers()
        data = tf.extractfile(member).read()  # type: ignore[union-attr]
    with h5py.File(io.BytesIO(data)) as f:
        assert f["/entry/data/data"].shape == (2, 256, 256)


def test_repository_answers_are_bounded_per_resolution(internet: FakeInternet, net: FakeInternet,
                                                       tmp_path: Path) -> None:
    """The gateway reads a repository's API answers under its own, smaller body limit (max_api_body)."""
    server = start(internet, tmp_path, max_api_body=512)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            r = client.get(f"/{DOI}", headers={"Accept": "application/json"})
        assert r.status_code == 502 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert "limit" in r.text or "large" in r.text
    finally:
        server.stop()


def test_where_hdf5_frames_obey_the_gateway_read_caps(internet: FakeInternet, net: FakeInternet,
                                                      tmp_path: Path) -> None:
    """Frames cut from an HDF5 stack are read under the same caps as ?slice= (max_slice_read), not the CLI's."""
    pytest.importorskip("h5py")
    server = start(internet, tmp_path, max_slice_read=8 * 1024)
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            r = client.get(f"/{H5}", params={"where": "omega < 81", "file": "scan.h5", "archive": "tar"})
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    finally:
        server.stop()


@pytest.mark.parametrize(("expr", "words"), [("omega >>= 3", "expected"), ("foo > 3", "unknown name 'foo'"),
                                             ("omega > ", "expected"), ("(omega > 1", "')'")])
def test_where_errors_are_400_problems(http: httpx.Client, expr: str, words: str) -> None:
    r = http.get(f"/{CBF}", params={"where": expr})
    assert r.status_code == 400 and r.json()["title"] == "Invalid where expression", r.text
    assert words in r.json()["detail"]
    assert http.get(f"/{DOI}", params={"where": "omega > 1", "file": "README.json"}).status_code == 404  # no frames


@pytest.mark.parametrize("name", ["frames.tar", "frames.tar.gz"])
def test_tar_members_listed_and_streamed(http: httpx.Client, net: FakeInternet, name: str) -> None:
    listing = http.get(f"/{ZIPS}", params={"file": name, "list": "members"})
    assert listing.status_code == 200, listing.text
    doc = listing.json()
    assert doc["format"] == "tar" and len(doc["members"]) == 21 and doc["members"][0]["kind"] == "file"
    with tarfile.open(fileobj=io.BytesIO(net.world.file_bytes("7000400", name))) as tf:
        want = tf.extractfile("frames/frame_00007.cbf").read()  # type: ignore[union-attr]
    r = http.get(f"/{ZIPS}", params={"file": name, "extract": "frames/frame_00007.cbf"})
    assert r.status_code == 200 and r.content == want
    assert r.headers["content-length"] == str(len(want)) and r.headers["content-type"] == "application/octet-stream"
    assert 'filename="frame_00007.cbf"' in r.headers["content-disposition"]
    notes = http.get(f"/{ZIPS}", params={"file": name, "extract": "/frames/NOTES.txt"})
    assert notes.headers["content-type"].startswith("text/plain") and notes.text.startswith("Twenty frames")
    missing = http.get(f"/{ZIPS}", params={"file": name, "extract": "frames/nope.cbf"})
    assert missing.status_code == 400 and missing.json()["title"] == "Archive member not found"


def test_zip_members_with_exact_length(http: httpx.Client, net: FakeInternet) -> None:
    with zipfile.ZipFile(io.BytesIO(net.world.file_bytes("7000400", "frames.zip"))) as zf:
        want = zf.read("logs/frame_00003.log")
    r = http.get(f"/{ZIPS}", params={"file": "frames.zip", "extract": "logs/frame_00003.log"})
    assert r.status_code == 200 and r.content == want and r.headers["content-length"] == str(len(want))
    listing = http.get(f"/{ZIPS}", params={"file": "frames.zip", "list": "members"}).json()
    assert listing["format"] == "zip" and len(listing["members"]) == 404
    assert http.get(f"/{ZIPS}", params={"file": "frames.zip", "extract": "images/"}).status_code == 400
    assert http.get(f"/{ZIPS}", params={"file": "frames.zip", "extract": "nope"}).json()["title"] == \
        "Archive member not found"


def test_blocking_reads_pass_the_destination_check(gateway: GatewayServer, http: httpx.Client) -> None:
    """File bytes go through the blocking client: its request hook refuses private origins too."""
    gw = gateway.app.gateway  # type: ignore[attr-defined]
    assert http.get(f"/{DOI}").status_code == 200  # manifest cached while zenodo.org is allowed
    saved = gw.policy.allow_hosts, gw.policy.resolver

    async def loopback(host: str) -> list[str]:
        return ["127.0.0.1"]

    gw.policy.allow_hosts, gw.policy.resolver = (), loopback
    gw.policy._dns.clear()
    try:
        r = http.get(f"/{DOI}", params={"file": "README.json", "mode": "stream"})
        assert r.status_code == 403 and r.json()["error"] == "DestinationRefused", r.text
        r = http.get(f"/{ZIPS}", params={"file": "frames.tar", "list": "members"})
        assert r.status_code == 403, r.text
    finally:
        gw.policy.allow_hosts, gw.policy.resolver = saved
        gw.policy._dns.clear()


def _gateway_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith(("doi2data-origin", "doi2data-hash",
                                                                         "doi2data-open", "doi2data-member"))]


def _active_origin_connections(gw: object) -> int:
    client = gw.sync_client  # type: ignore[attr-defined]
    pools = [t._pool for t in [client._transport, *client._mounts.values()] if t is not None and hasattr(t, "_pool")]
    return sum(1 for pool in pools for c in pool.connections if not (c.is_idle() or c.is_closed()))


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_client_disconnect_stops_reads_and_frees_connections(gateway: GatewayServer, net: FakeInternet) -> None:
    """A client that hangs up mid-body: the producer thread stops, the origin connection is closed (not
    returned half-read to the pool), the stream slot is released. (The sandbox's proxy then drops its
    side of the cut tunnel without closing a StreamWriter; that warning is the sandbox's, ignored here.)"""
    from doi2data.service import pump

    gw = gateway.app.gateway  # type: ignore[attr-defined]
    streams = ({"archive": "zip"}, {"file": "bulk/large.bin", "mode": "stream"})
    for params in streams:
        with httpx.Client(base_url=gateway.url, trust_env=False, timeout=30) as client:
            with client.stream("GET", "/10.5281/zenodo.7000100", params=params) as r:
                assert r.status_code == 200 and int(r.headers["content-length"]) > 64 << 20
                got = 0
                for chunk in r.iter_raw():
                    got += len(chunk)
                    if got > 2 << 20:
                        break  # hang up with ~62 MiB still to come
        deadline = time.monotonic() + 15
        while (pump.LIVE or _gateway_threads() or _active_origin_connections(gw)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pump.LIVE and not _gateway_threads(), _gateway_threads()
        assert _active_origin_connections(gw) == 0
        assert gw.limits.streams("127.0.0.1") == 0  # the client's stream slot was given back
    sent = sum(rec.bytes_sent for rec in net.log if rec.path.endswith("large.bin/content"))
    print("origin bytes sent for two 64 MiB bodies cut after 2 MiB:", sent)
    assert sent < 2 * 40 << 20, sent  # the origin reads stopped early (bounded queue), not at 64 MiB
    ok = httpx.get(f"{gateway.url}/{DOI}", params={"file": "README.json", "mode": "stream"}, trust_env=False)
    assert ok.status_code == 200
