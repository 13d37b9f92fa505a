"""Detection in layers: each layer over a mock transport (with request counts: cheapest first, the
landing page fetched at most once), then end to end through the fake internet (the Signposting-only
and JSON-LD-only repositories download and verify, ``--explain``, every layer named when nothing
matches, and a Crossref article DOI refused with a clear message)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import shared_dir
from starlette.responses import JSONResponse

import doi2data
from doi2data.errors import NotADataset, RecordNotFound, UnsupportedRepository
from doi2data.http import Http
from doi2data.model import Manifest
from doi2data.resolver import build_manifest
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox.sites.contenturl_repo import CONTENT_URLS, CONTENTURL_DOI
from doi2data.sandbox.sites.contenturl_repo import FILES as CONTENTURL_FILES
from doi2data.sandbox.sites.contenturl_repo import FILES_HOST as CONTENTURL_FILES_HOST
from doi2data.sandbox.sites.signposting_repo import JSONLD, SIGNPOSTING_L1, SIGNPOSTING_L2, SiteDataset

MD5 = "0" * 32
ZENODO_RECORD = {"id": 77, "metadata": {"title": "Seventy-seven"}, "files": [
    {"key": "a.txt", "size": 3, "checksum": f"md5:{MD5}",
     "links": {"self": "https://zenodo.org/api/records/77/files/a.txt/content"}}]}
DATAVERSE_DATASET = {"status": "OK", "data": {"id": 1, "latestVersion": {"versionState": "RELEASED", "files": [
    {"label": "a.txt", "dataFile": {"id": 5, "filesize": 3, "md5": MD5, "contentType": "text/plain"}}]}}}
JSONLD_PAGE = ("<html><head><script type='application/ld+json'>" + json.dumps({
    "@context": "https://schema.org", "@type": "Dataset", "name": "JSON-LD only",
    "distribution": [{"@type": "DataDownload", "name": "t.csv", "contentUrl": "/get/1", "contentSize": 7}]})
    + "</script></head><body>hi</body></html>")
PLAIN_PAGE = "<html><head><title>x</title></head><body>Ask the data manager.</body></html>"
LAYERS = ["doi-prefix", "landing-url", "datacite-client", "api-probe", "signposting", "schema.org",
          "datacite-contentUrl", "directory-listing"]


class Web:
    """A tiny mock internet: exact URLs (query ignored unless given) -> canned responses; logs every request."""

    def __init__(self) -> None:
        self.routes: dict[str, httpx.Response | Any] = {}
        self.log: list[str] = []

    def add(self, url: str, status: int = 200, *, json_body: Any = None, text: str | None = None,
            headers: dict[str, str] | None = None) -> None:
        if json_body is not None:
            self.routes[url] = lambda: httpx.Response(status, json=json_body, headers=headers)
            return
        body = (text or "").encode()
        merged = {"content-type": "text/html; charset=utf-8", **(headers or {})}
        self.routes[url] = lambda: httpx.Response(status, content=body, headers=merged)

    def doi(self, doi: str, landing: str, *, client: str | None = "example.repo", publisher: str = "Example Repo",
            content_url: Any = None) -> None:
        """doi.org Handle API and DataCite answers for ``doi`` (client None: DataCite says 404)."""
        self.add(f"https://doi.org/api/handles/{doi}", json_body={"responseCode": 1, "handle": doi, "values": [
            {"index": 1, "type": "URL", "data": {"format": "string", "value": landing}}]})
        if client is None:
            self.add(f"https://api.datacite.org/dois/{doi}", 404, json_body={"errors": [{"status": "404"}]})
            return
        self.add(f"https://api.datacite.org/dois/{doi}", json_body={
            "data": {"id": doi.lower(), "type": "dois", "attributes": {
                "doi": doi.lower(), "titles": [{"title": f"DataCite title of {doi}"}], "publisher": publisher,
                "publicationYear": 2024, "url": landing, "contentUrl": content_url},
                "relationships": {"client": {"data": {"id": client, "type": "clients"}}}}})

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url}")
        for key in (str(request.url), str(request.url.copy_with(query=None))):
            if key in self.routes:
                return self.routes[key]()  # type: ignore[no-any-return]
        return httpx.Response(404, text="not here")

    def gets(self, url: str) -> int:
        return sum(line == f"GET {url}" for line in self.log)

    def hosts(self) -> set[str]:
        return {httpx.URL(line.split(" ", 1)[1]).host for line in self.log}

    def manifest(self, identifier: str) -> Manifest:
        async def go() -> Manifest:
            async with httpx.AsyncClient(transport=httpx.MockTransport(self.handler)) as client:
                return await build_manifest(identifier, Http(client, max_attempts=1))
        return asyncio.run(go())

    def error(self, identifier: str, kind: type[Exception] = UnsupportedRepository) -> Any:
        with pytest.raises(kind) as info:
            self.manifest(identifier)
        return info.value


def _layers(manifest_or_error: Any) -> list[tuple[str, bool]]:
    return [(a.layer, a.matched) for a in manifest_or_error.discovery.attempts]


# --- layers 1-2: pure recognition, no request beyond resolution and listing --------------------------

def test_doi_prefix_layer_costs_no_request() -> None:
    web = Web()
    web.doi("10.5281/zenodo.77", "https://zenodo.org/records/77", client="cern.zenodo")
    web.add("https://zenodo.org/api/records/77", json_body=ZENODO_RECORD)
    m = web.manifest("10.5281/zenodo.77")
    d = m.discovery
    assert d is not None and d.layer == "doi-prefix" and d.adapter == "invenio"
    assert (d.requests, d.resolve_requests, d.detect_requests, d.list_requests) == (3, 2, 0, 1)
    assert len(web.log) == 3 and web.gets("https://zenodo.org/records/77") == 0  # landing page never fetched
    assert d.route == tuple(web.log)
    assert [f.path for f in m.files] == ["a.txt"]


def test_landing_url_layer() -> None:
    web = Web()
    web.doi("10.1234/land.1", "https://zenodo.org/records/77")
    web.add("https://zenodo.org/api/records/77", json_body=ZENODO_RECORD)
    m = web.manifest("10.1234/land.1")
    assert m.discovery and m.discovery.layer == "landing-url" and m.discovery.requests == 3
    assert _layers(m) == [("doi-prefix", False), ("landing-url", True)]


def test_adapter_failure_carries_the_discovery() -> None:
    web = Web()
    web.doi("10.5281/zenodo.78", "https://zenodo.org/records/78", client="cern.zenodo")
    err = web.error("10.5281/zenodo.78", RecordNotFound)
    assert err.discovery.layer is None and ("doi-prefix", True) in _layers(err)


# --- registration agency: Crossref DOIs are articles ---------------------------------------------------

def test_crossref_doi_is_not_a_dataset_without_touching_the_publisher() -> None:
    web = Web()
    web.doi("10.1371/journal.pone.0000001", "https://journals.plos.org/plosone/article?id=x", client=None)
    web.add("https://doi.org/ra/10.1371", json_body=[{"DOI": "10.1371", "RA": "Crossref"}])
    err = web.error("10.1371/journal.pone.0000001", NotADataset)
    assert "Crossref DOI" in str(err) and "not a dataset" in str(err) and err.exit_code == 5
    assert "journals.plos.org" not in web.hosts() and len(web.log) == 3
    assert err.discovery.requests == 3


def test_publisher_landing_without_datacite_record_is_not_a_dataset() -> None:
    web = Web()
    web.doi("10.1002/anie.201804551", "https://onlinelibrary.wiley.com/doi/10.1002/anie.201804551", client=None)
    web.add("https://doi.org/ra/10.1002", 500, text="down")
    err = web.error("10.1002/anie.201804551", NotADataset)
    assert "onlinelibrary.wiley.com" in str(err) and "not a dataset" in str(err)
    assert "onlinelibrary.wiley.com" not in web.hosts()


def test_other_agency_goes_on_to_the_generic_layers() -> None:
    web = Web()
    web.doi("10.11367/jalc.1", "https://data.jalc.example/item/1", client=None)
    web.add("https://doi.org/ra/10.11367", json_body=[{"DOI": "10.11367", "RA": "JaLC"}])
    web.add("https://data.jalc.example/item/1", text=JSONLD_PAGE)
    m = web.manifest("10.11367/jalc.1")
    assert m.discovery and m.discovery.layer == "schema.org" and m.discovery.requests == 2 + 1 + 2 + 1
    assert ("registration-agency", False) in _layers(m)
    assert [(f.path, f.size, f.url) for f in m.files] == [("t.csv", 7, "https://data.jalc.example/get/1")]


# --- layer 3: DataCite client / publisher (no request) -------------------------------------------------

def test_datacite_client_layer_before_any_probe() -> None:
    web = Web()
    web.doi("10.1234/dv.1", "https://portal.example.edu/view/dv1", client="gdcc.harvard-dv")
    web.add("https://dataverse.harvard.edu/api/datasets/:persistentId/?persistentId=doi:10.1234/dv.1",
            json_body=DATAVERSE_DATASET)
    m = web.manifest("10.1234/dv.1")
    assert m.discovery and m.discovery.layer == "datacite-client" and m.discovery.adapter == "dataverse"
    assert m.discovery.requests == 3 and "portal.example.edu" not in web.hosts()
    assert [f.url for f in m.files] == ["https://dataverse.harvard.edu/api/access/datafile/5"]


def test_datacite_client_of_an_unknown_dataverse_uses_the_landing_host() -> None:
    web = Web()
    web.doi("10.1234/dv.2", "https://dv.univ.example/view/dv2", client="gdcc.odum-dv")
    web.add("https://dv.univ.example/api/datasets/:persistentId/?persistentId=doi:10.1234/dv.2",
            json_body=DATAVERSE_DATASET)
    m = web.manifest("10.1234/dv.2")
    assert m.discovery and m.discovery.layer == "datacite-client" and m.discovery.requests == 3


# --- layer 4: API probe for hosts no table knows -------------------------------------------------------

def test_probe_finds_dataverse_with_one_request() -> None:
    web = Web()
    web.doi("10.1234/probe.1", "https://data.institute.example/landing/probe1")
    web.add("https://data.institute.example/api/info/version",
            json_body={"status": "OK", "data": {"version": "6.2", "build": "1234"}})
    web.add("https://data.institute.example/api/datasets/:persistentId/?persistentId=doi:10.1234/probe.1",
            json_body=DATAVERSE_DATASET)
    m = web.manifest("10.1234/probe.1")
    d = m.discovery
    assert d and d.layer == "api-probe" and d.adapter == "dataverse" and "6.2" in d.reason
    assert (d.requests, d.detect_requests, d.list_requests) == (4, 1, 1)
    assert web.gets("https://data.institute.example/landing/probe1") == 0


def test_probe_finds_inveniordm() -> None:
    web = Web()
    web.doi("10.1234/probe.2", "https://rdm.institute.example/uploads/q1w2e")
    web.add("https://rdm.institute.example/api/records/q1w2e", json_body=ZENODO_RECORD)
    m = web.manifest("10.1234/probe.2")
    d = m.discovery
    assert d and d.layer == "api-probe" and d.adapter == "invenio" and m.dataset.repository == "rdm.institute.example"
    assert d.requests == 2 + 2 + 1  # Dataverse probe (404), Invenio probe, then the listing itself


def test_known_hosts_are_not_probed() -> None:
    web = Web()
    web.doi("10.1234/known.1", "https://zenodo.org/communities/sandbox")
    web.add("https://zenodo.org/communities/sandbox", text=PLAIN_PAGE)
    err = web.error("10.1234/known.1")
    assert not any("zenodo.org/api/" in line for line in web.log)
    assert "api-probe: skipped: zenodo.org is a known host" in str(err)


# --- layers 5-7: Signposting, schema.org, contentUrl (the landing page fetched once) ------------------

def _recorded_zenodo_page() -> tuple[str, str]:
    page = shared_dir() / "fixtures/recorded/zenodo/html-records-1196821.html"
    if not page.exists():
        pytest.skip("recorded Zenodo landing page not available")
    headers = json.loads(Path(f"{page}.headers.json").read_text())["headers"]
    return page.read_text(encoding="utf-8"), ", ".join(headers["link"])


def test_signposting_level1_recorded_zenodo_page() -> None:
    html, link = _recorded_zenodo_page()
    web = Web()
    web.doi("10.1234/mirror.1", "https://mirror.example.org/records/pspm")
    web.add("https://mirror.example.org/records/pspm", text=html, headers={"link": link})
    m = web.manifest("10.1234/mirror.1")
    d = m.discovery
    assert d and d.layer == "signposting" and "Level 1" in d.reason
    assert d.requests == 2 + 2 + 1 and d.list_requests == 0
    assert web.gets("https://zenodo.org/api/records/1196821") == 0  # items in Level 1: no linkset fetched
    assert [(f.path, f.media_type) for f in m.files] == [
        ("excludes.txt", "text/plain"), ("README.txt", "text/plain"), ("Data.zip", "application/zip")]
    assert m.files[2].urls == ("https://zenodo.org/records/1196821/files/Data.zip",
                               "https://zenodo.org/api/records/1196821/files/Data.zip/content")  # JSON-LD mirror
    assert m.dataset.license == "https://creativecommons.org/licenses/by-sa/4.0/legalcode"
    assert m.dataset.title == "DataCite title of 10.1234/mirror.1"  # DataCite first, the page fills gaps
    assert m.dataset.version == "1.0.2"


def _level2(web: Web, *, json_status: int = 200) -> None:
    web.doi("10.1234/ls.1", "https://ls.example.org/d/1")
    web.add("https://ls.example.org/d/1", text=PLAIN_PAGE, headers={"link": (
        '<https://ls.example.org/d/1/ls.json>; rel="linkset"; type="application/linkset+json", '
        '<https://ls.example.org/d/1/ls.txt>; rel="linkset"; type="application/linkset"')})
    web.add("https://ls.example.org/d/1/ls.json", json_status, json_body={"linkset": [
        {"anchor": "https://ls.example.org/d/1", "item": [{"href": "/f/a.h5", "type": "application/x-hdf5"}]}]},
        headers={"content-type": "application/linkset+json"})
    web.add("https://ls.example.org/d/1/ls.txt", text='<https://ls.example.org/f/b.h5>; rel="item"; '
            'anchor="https://ls.example.org/d/1"\n<https://ls.example.org/f/c.h5>; rel="item"; '
            'anchor="https://ls.example.org/d/1"\n', headers={"content-type": "application/linkset"})


def test_signposting_level2_json_linkset() -> None:
    web = Web()
    _level2(web)
    m = web.manifest("10.1234/ls.1")
    assert m.discovery and m.discovery.layer == "signposting" and "application/linkset+json" in m.discovery.reason
    assert [(f.path, f.url, f.media_type) for f in m.files] == [
        ("a.h5", "https://ls.example.org/f/a.h5", "application/x-hdf5")]
    assert m.discovery.requests == 2 + 2 + 1 + 1 and web.gets("https://ls.example.org/d/1/ls.txt") == 0


def test_signposting_level2_text_linkset_when_the_json_one_fails() -> None:
    web = Web()
    _level2(web, json_status=500)
    m = web.manifest("10.1234/ls.1")
    assert m.discovery and "application/linkset)" in m.discovery.reason
    assert [f.path for f in m.files] == ["b.h5", "c.h5"] and m.discovery.requests == 7


def test_schemaorg_layer_shares_the_landing_page() -> None:
    page = shared_dir() / "fixtures/recorded/dataverse/html-dataset.xhtml-doi-10.7910_DVN_NJ7XSO-2021.html"
    if not page.exists():
        pytest.skip("recorded Dataverse landing page not available")
    web = Web()
    web.doi("10.1234/jsonld.1", "https://catalogue.example.edu/ds/NJ7XSO")
    web.add("https://catalogue.example.edu/ds/NJ7XSO", text=page.read_text(encoding="utf-8"))
    m = web.manifest("10.1234/jsonld.1")
    d = m.discovery
    assert d and d.layer == "schema.org" and d.requests == 2 + 2 + 1
    assert web.gets("https://catalogue.example.edu/ds/NJ7XSO") == 1  # Signposting and JSON-LD: one fetch
    assert _layers(m)[-2:] == [("signposting", False), ("schema.org", True)]
    assert [(f.path, f.size) for f in m.files] == [("Asian_Case_Control_Results.txt", 11572412),
                                                   ("European_Asian_Case_Control_Results.txt", 11245496),
                                                   ("European_Case_Control_Results.txt", 13337183)]


def test_contenturl_layer_last() -> None:
    web = Web()
    web.doi("10.1234/cu.1", "https://files.example.org/landing", content_url=[
        "https://files.example.org/data/a.nc", "https://files.example.org/data/b.nc"])
    web.add("https://files.example.org/landing", 404, text="gone")
    m = web.manifest("10.1234/cu.1")
    d = m.discovery
    # resolve 2, probes 2, the landing page once, then one HEAD per URL (404 here: sizes stay unknown)
    assert d and d.layer == "datacite-contentUrl" and d.requests == 2 + 2 + 1 + 2
    assert [f.path for f in m.files] == ["a.nc", "b.nc"] and all(f.size is None for f in m.files)
    assert [line for line in web.log if line.startswith("HEAD")] == [
        "HEAD https://files.example.org/data/a.nc", "HEAD https://files.example.org/data/b.nc"]
    assert [(a.layer, a.matched) for a in d.attempts][-3:] == [
        ("signposting", False), ("schema.org", False), ("datacite-contentUrl", True)]
    assert "HTTP 404" in d.attempts[-2].detail
    assert web.gets("https://files.example.org/landing") == 1


def test_a_landing_url_serving_a_file_is_not_read() -> None:
    consumed = []

    async def body() -> AsyncIterator[bytes]:
        consumed.append(True)
        yield b"PK\x03\x04" * 1000

    web = Web()
    web.doi("10.1234/zip.1", "https://files.example.org/big.zip", content_url="https://files.example.org/big.zip")
    web.routes["https://files.example.org/big.zip"] = lambda: httpx.Response(
        200, headers={"content-type": "application/zip"}, content=body())
    m = web.manifest("10.1234/zip.1")
    assert m.discovery and m.discovery.layer == "datacite-contentUrl" and consumed == []
    assert "application/zip, not HTML" in m.discovery.attempts[-2].detail


def test_nothing_matches_names_every_layer() -> None:
    web = Web()
    web.doi("10.1234/none.1", "https://plain.example.org/ds/1")
    web.add("https://plain.example.org/ds/1", text=PLAIN_PAGE)
    err = web.error("10.1234/none.1")
    assert type(err) is UnsupportedRepository and err.exit_code == 5
    assert [a.layer for a in err.discovery.attempts] == LAYERS
    assert all(f"{layer}:" in str(err) for layer in LAYERS)
    assert err.discovery.requests == 5 and web.gets("https://plain.example.org/ds/1") == 1


def test_handle_and_url_identifiers_skip_the_doi_layers() -> None:
    web = Web()
    web.add("https://hdl.handle.net/api/handles/20.500.1/abc", json_body={"responseCode": 1, "values": [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://h.example.org/item/abc"}}]})
    web.add("https://h.example.org/item/abc", text=JSONLD_PAGE)
    m = web.manifest("hdl:20.500.1/abc")
    assert m.discovery and m.discovery.layer == "schema.org" and m.discovery.requests == 1 + 2 + 1
    assert m.discovery.attempts[0].detail == "skipped: the identifier is not a DOI"
    assert not any("datacite" in line or "/ra/" in line for line in web.log)
    web.log.clear()
    m = web.manifest("https://h.example.org/item/abc")
    assert m.discovery and m.discovery.resolve_requests == 0 and m.discovery.requests == 3


# --- end to end through the fake internet --------------------------------------------------------------

def _expected(net: FakeInternet, ds: SiteDataset) -> dict[str, bytes]:
    return {f.key: net.world.read(f) for f in ds.files}


def _files_under(dest: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*")
            if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


@pytest.mark.parametrize("ds", [SIGNPOSTING_L1, JSONLD], ids=["signposting", "jsonld"])
def test_e2e_generic_repositories_download_and_verify(cli, net: FakeInternet, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     ds: SiteDataset) -> None:
    run = cli("get", ds.doi, "out", "-q")
    assert run.code == 0, run.err
    assert _files_under(tmp_path / "out") == _expected(net, ds)
    run = cli("verify", ds.doi, "out")
    assert run.code == 0, run.err
    again = cli("get", ds.doi, "out", "-q")
    assert again.code == 0 and "0 downloaded" in again.err


def test_e2e_signposting_level2_python_api(net: FakeInternet, tmp_path: Path) -> None:
    report = doi2data.download(SIGNPOSTING_L2.doi, tmp_path / "l2")
    assert report.count("downloaded") == 2 and not report.failed
    assert _files_under(tmp_path / "l2") == _expected(net, SIGNPOSTING_L2)
    manifest = doi2data.resolve(SIGNPOSTING_L2.doi)
    assert manifest.discovery and "Level 2" in manifest.discovery.reason


def test_e2e_signposting_bytes_are_verified_against_repr_digest(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="signposting.example.org", path="*/frame.bin", kind="corrupt", offset=10))
    run = cli("get", SIGNPOSTING_L1.doi, "bad", "-q")
    assert run.code == 1 and "frame.bin" in run.err and "sha256" in run.err
    assert not (tmp_path / "bad/data/frame.bin").exists()


def test_e2e_explain(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", SIGNPOSTING_L1.doi, "--explain")
    assert run.code == 0, run.err
    assert "matched layer signposting" in run.err and "README.txt" in run.out
    assert "HTTP requests: 5 (resolve 2, detect 3, list 0)" in run.err
    assert "GET https://signposting.example.org/datasets/1" in run.err
    assert "- api-probe: not Dataverse" in run.err
    run = cli("ls", "10.5281/zenodo.1215979", "--explain", "--json")
    assert run.code == 0 and json.loads(run.out)["file_count"] >= 6
    assert "matched layer doi-prefix (adapter invenio)" in run.err and "HTTP requests: 3" in run.err
    run = cli("get", JSONLD.doi, "g", "--explain", "-q")
    assert run.code == 0 and "matched layer schema.org" in run.err


def test_e2e_unsupported_names_every_layer(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", "10.99999/unsupported.1", "--explain")
    assert run.code == UnsupportedRepository.exit_code == 5
    error = run.err.strip().splitlines()[-1]
    assert error.startswith("doi2data: error: no adapter supports https://data.example.org/ds/1")
    assert all(f"{layer}:" in error for layer in LAYERS)
    assert "explain: no layer matched" in run.err and "HTTP requests: 5" in run.err


CROSSREF_DOI = "10.1371/journal.pone.0000001"


@pytest.fixture
def crossref(net: FakeInternet) -> Iterator[str]:
    """doi.org also knows one Crossref article DOI (DataCite, as in reality, does not)."""
    original = net.sites["doi.org"]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == f"/api/handles/{CROSSREF_DOI}":
            value = f"https://journals.plos.org/plosone/article?id={CROSSREF_DOI}"
            await JSONResponse({"responseCode": 1, "handle": CROSSREF_DOI, "values": [
                {"index": 1, "type": "URL", "data": {"format": "string", "value": value}}]})(scope, receive, send)
        elif path == "/ra/10.1371":
            await JSONResponse([{"DOI": "10.1371", "RA": "Crossref"}])(scope, receive, send)
        else:
            await original(scope, receive, send)

    net.add_site("doi.org", app)
    try:
        yield CROSSREF_DOI
    finally:
        net.add_site("doi.org", original)


def test_e2e_crossref_article_doi(cli, net: FakeInternet, crossref: str) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", crossref, "--explain")
    assert run.code == NotADataset.exit_code == 5
    assert "is a Crossref DOI" in run.err and "not a dataset" in run.err and "Traceback" not in run.err
    assert "HTTP requests: 3 (resolve 2, detect 1, list 0)" in run.err
    assert not any(r.host == "journals.plos.org" for r in net.log)


def test_head_facts_and_disposition_names() -> None:
    from doi2data.adapters.contenturl import disposition_name, head_facts

    assert disposition_name("attachment; filename=\"a.csv\"; filename*=UTF-8''%C3%A9t%C3%A9.csv") == "été.csv"
    assert disposition_name("inline; filename=plain.txt") == "plain.txt"
    assert disposition_name('attachment; filename="../../etc/passwd"') == "passwd"
    assert disposition_name("attachment") is None and disposition_name(None) is None
    facts = head_facts({"content-length": "12", "content-type": "text/csv; charset=utf-8",
                        "repr-digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
                        "content-disposition": 'attachment; filename="t.csv"'})
    assert facts == {"size": 12, "media_type": "text/csv", "name": "t.csv", "checksums": {
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}
    assert "size" not in head_facts({"content-length": "12", "content-encoding": "gzip"})


def test_e2e_datacite_serves_content_url_as_a_list(net: FakeInternet) -> None:
    with httpx.Client() as client:
        doc = client.get(f"https://api.datacite.org/dois/{CONTENTURL_DOI}").json()
        plain = client.get("https://api.datacite.org/dois/10.99999/signposting.1").json()
    assert doc["data"]["attributes"]["contentUrl"] == CONTENT_URLS
    assert isinstance(doc["data"]["attributes"]["sizes"], list)
    assert plain["data"]["attributes"]["contentUrl"] is None  # everyone else: null, as recorded


def test_e2e_contenturl_only_repository_explain_get_verify(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    run = cli("ls", CONTENTURL_DOI, "--explain", "--json")
    assert run.code == 0, run.err
    assert "matched layer datacite-contentUrl (adapter contenturl)" in run.err
    tried = [line.strip() for line in run.err.splitlines() if line.startswith("    ") and ": " in line
             and line.strip()[:2] in ("+ ", "- ")]
    assert [t[2:].split(":", 1)[0] for t in tried] == LAYERS[:-1]  # every cheaper layer first, not the last
    assert [t[0] for t in tried] == ["-"] * (len(LAYERS) - 2) + ["+"]
    assert "- api-probe: not Dataverse" in run.err and "- signposting: no 'item' link" in run.err
    doc = json.loads(run.out)
    specs = {name: spec for _, spec, name in CONTENTURL_FILES}
    assert {f["path"]: f["size"] for f in doc["files"]} == {n: s.size for n, s in specs.items()}
    assert {f["path"]: f["checksums"]["sha256"] for f in doc["files"]} == {
        n: net.world.digest(s, "sha256") for n, s in specs.items()}  # from Repr-Digest on HEAD
    assert "HTTP requests: 8 (resolve 2, detect 6, list 0)" in run.err  # 3 of them HEADs, no file body read
    files_host = [r for r in net.log if r.host == CONTENTURL_FILES_HOST]
    assert [r.method for r in files_host] == ["HEAD"] * 3
    run = cli("get", CONTENTURL_DOI, "out", "-q")
    assert run.code == 0, run.err
    assert _files_under(tmp_path / "out") == {n: net.world.read(s) for n, s in specs.items()}
    run = cli("verify", CONTENTURL_DOI, "out")
    assert run.code == 0 and "3 ok, 0 bad" in run.err, run.err
    net.add_quirk(Quirk(host=CONTENTURL_FILES_HOST, path="*/spectra.h5", kind="corrupt", offset=1000))
    run = cli("get", CONTENTURL_DOI, "bad", "-q")
    assert run.code == 1 and "spectra.h5" in run.err and not (tmp_path / "bad/spectra.h5").exists()


def test_a_version_is_pinned_only_where_the_adapter_has_versions() -> None:
    from doi2data.adapters import KNOWN_ADAPTERS, load
    from doi2data.adapters.base import RecordRef
    from doi2data.discovery import pin_version
    from doi2data.errors import VersionNotSupported

    ref = RecordRef("osf", "https://api.osf.io", "abc12", "OSF")
    assert pin_version(load("osf"), ref, None) is ref
    with pytest.raises(VersionNotSupported) as info:
        pin_version(load("osf"), ref, "1")
    assert info.value.exit_code == 2
    with_versions = {name for name in KNOWN_ADAPTERS if getattr(load(name), "supports_versions", False)}
    assert {"dataverse", "figshare", "dryad", "invenio"} <= with_versions
    assert not with_versions & {"osf", "psi", "esrf", "desy", "scicat", "webindex"}
    assert pin_version(load("dataverse"), ref, "1.0").version == "1.0"
    web = Web()
    web.doi("10.1234/cu.2", "https://files.example.org/landing2", content_url=["https://files.example.org/x.nc"])

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(web.handler)) as client:
            return await build_manifest("10.1234/cu.2", Http(client, max_attempts=1), version="2")

    with pytest.raises(VersionNotSupported) as info:
        asyncio.run(go())
    found = info.value.discovery  # type: ignore[attr-defined]
    assert "datacite-contentUrl" in str(info.value) and found.layer == "datacite-contentUrl"
