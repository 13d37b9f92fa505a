"""Dryad adapter: URL/DOI forms, the dataset -> version -> files chain, HAL pagination, digests, access."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from conftest import shared_dir

from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.dryad import ADAPTER, DRYAD, dataset_url, parse_dataset, parse_files_page, parse_versions
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError, UsageError
from doi2data.http import Http
from doi2data.model import Manifest

DOI = "10.5061/dryad.mj8m0"
MD5 = "0123456789abcdef0123456789abcdef"
SHA256 = "ab" * 32


def _res(url: str, doi: str | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, None)


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[str, Any], ref: RecordRef | None = None, seen: list[str] | None = None) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(str(request.url))
        body = table.get(_key(str(request.url)))
        if isinstance(body, int):
            return httpx.Response(body, json={"error": "x"})
        return httpx.Response(404, json={"error": "not found"}) if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(ref or RecordRef("dryad", DRYAD, DOI, "Dryad"), _res("x", DOI),
                                            Http(client, max_attempts=1))

    return asyncio.run(go())


def dfile(i: int, path: str, size: int = 5, **extra: Any) -> dict[str, Any]:
    return {"_links": {"self": {"href": f"/api/v2/files/{i}"}, "stash:download": {"href": f"/api/v2/downloads/{i}"}},
            "path": path, "size": size, "mimeType": "text/csv", "status": "created", "digest": MD5, "digestType": "md5",
            **extra}


def ds_doc(**extra: Any) -> dict[str, Any]:
    return {"_links": {"stash:version": {"href": "/api/v2/versions/5"}}, "identifier": f"doi:{DOI}", "id": 3,
            "title": "Nest temperatures", "authors": [{"firstName": "A", "lastName": "B"}, {"lastName": "Solo"}],
            "versionNumber": 2, "publicationDate": "2019-03-04", "license": "CC0", "visibility": "public", **extra}


def page(files: list[Any], nxt: str | None = None) -> dict[str, Any]:
    return {"_links": {"next": {"href": nxt}} if nxt else {}, "_embedded": {"stash:files": files}}


@pytest.mark.parametrize("url, doi, rid", [
    (f"https://datadryad.org/dataset/doi:{DOI}", None, DOI),
    (f"https://datadryad.org/stash/dataset/doi:{DOI}", None, DOI),
    (f"http://www.datadryad.org/resource/doi:{DOI}/1", None, DOI),
    ("https://datadryad.org/api/v2/datasets/doi%3A10.5061%2Fdryad.mj8m0", None, DOI),
    ("https://datadryad.org/dataset/doi:10.5072/FK2708471V", None, "10.5072/FK2708471V"),
    ("https://doi.org/10.5061/dryad.31zcrjdm5", "10.5061/dryad.31zcrjdm5", "10.5061/dryad.31zcrjdm5"),
    ("https://example.org/", "10.5061/DRYAD.MJ8M0", DOI),
])
def test_recognize(url: str, doi: str | None, rid: str) -> None:
    ref = ADAPTER.recognize(_res(url, doi))
    assert ref is not None and (ref.adapter, ref.api_base, ref.record_id, ref.repository) == ("dryad", DRYAD, rid, "Dryad")


@pytest.mark.parametrize("url, doi", [
    ("https://datadryad.org/", None), ("https://datadryad.org/search?q=doi:10.5061/dryad.x", None),
    ("https://example.org/dataset/doi:10.5061/dryad.x", None), ("https://example.org/", "10.5061/journal.x"),
    ("https://zenodo.org/records/1", "10.5281/zenodo.1"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


def test_dataset_url_encodes_prefix_and_slash() -> None:
    assert dataset_url(DRYAD, DOI) == "https://datadryad.org/api/v2/datasets/doi%3A10.5061%2Fdryad.mj8m0"


def test_parse_dataset_and_files() -> None:
    ds, files_url = parse_dataset(ds_doc())
    assert files_url == "https://datadryad.org/api/v2/versions/5/files"
    assert (ds.doi, ds.creators, ds.version, ds.year, ds.landing_url) == (DOI, ("B, A", "Solo"), "2", 2019,
                                                                           f"https://datadryad.org/dataset/doi:{DOI}")
    entries, nxt, deleted = parse_files_page(page([dfile(1, "a.csv"), dfile(2, "b.csv", digest=SHA256.upper(),
                                                                                    digestType="sha-256"),
                                                   dfile(3, "gone.csv", status="deleted"), dfile(4, "c", digest="xyz"),
                                                   dfile(5, "d", digestType=None)], nxt="/api/v2/versions/5/files?page=2"))
    assert nxt == "https://datadryad.org/api/v2/versions/5/files?page=2" and deleted == 1
    got = {e.path: (dict(e.checksums), e.urls) for e in entries}
    assert got["a.csv"] == ({"md5": MD5}, ("https://datadryad.org/api/v2/downloads/1",
                                           "https://datadryad.org/api/v2/files/1/download"))
    assert got["b.csv"][0] == {"sha256": SHA256} and got["c"][0] == {} and got["d"][0] == {}


@pytest.mark.parametrize("doc", [None, [], {"identifier": "doi:x"}, {"_links": {"stash:version": {}}}])
def test_parse_dataset_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_dataset(doc)


@pytest.mark.parametrize("doc", [None, {"_embedded": {"stash:files": {}}}, page([3]), page([{"size": 1}])])
def test_parse_files_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_files_page(doc)


def test_embargoed_and_private() -> None:
    ds, _ = parse_dataset(ds_doc(curationStatus="Embargoed", publicationDate="2031-01-01"))
    assert (ds.access, ds.note) == ("embargoed", "embargoed until 2031-01-01")
    ds, _ = parse_dataset(ds_doc(visibility="restricted"))
    assert ds.access == "restricted"
    m = _run({dataset_url(DRYAD, DOI): ds_doc(curationStatus="Embargoed"), f"{DRYAD}/api/v2/versions/5/files": page([])})
    assert m.files == () and "embargoed" in m.warnings[0]


def test_list_files_follows_pages_and_skips_deleted() -> None:
    seen: list[str] = []
    routes = {dataset_url(DRYAD, DOI): ds_doc(),
              f"{DRYAD}/api/v2/versions/5/files": page([dfile(1, "b.csv")], "/api/v2/versions/5/files?page=2"),
              f"{DRYAD}/api/v2/versions/5/files?page=2": page([dfile(2, "a.csv"), dfile(3, "x", status="deleted")],
                                                             "/api/v2/versions/5/files?page=3"),
              f"{DRYAD}/api/v2/versions/5/files?page=3": page([dfile(1, "b.csv")], "/api/v2/versions/5/files?page=2")}
    m = _run(routes, seen=seen)
    assert [f.path for f in m.files] == ["a.csv", "b.csv"] and len(seen) == 4  # the loop back to page 2 is not followed
    assert any("deleted" in w for w in m.warnings) and any("duplicate" in w for w in m.warnings)
    assert m.dataset.doi == DOI and m.dataset.title == "Nest temperatures"


def test_list_files_errors() -> None:
    with pytest.raises(RecordNotFound):
        _run({})
    with pytest.raises(AccessDenied):
        _run({dataset_url(DRYAD, DOI): ds_doc(), f"{DRYAD}/api/v2/versions/5/files": 401})
    with pytest.raises(RepositoryError):
        _run({dataset_url(DRYAD, DOI): 502})


def test_parse_versions_of_the_official_example() -> None:
    path = shared_dir() / "fixtures/recorded/dryad/docs-example-versions.json"
    if not path.exists():
        pytest.skip("recorded fixtures not available")
    versions, nxt = parse_versions(json.loads(path.read_text()))
    assert [n for n, _, _ in versions] == [1, 2, 3] and nxt is None
    assert versions[0][1] == f"{DRYAD}/api/v2/versions/18/files"


def test_list_files_of_a_requested_version_follows_the_versions_pages() -> None:
    listing = f"{DRYAD}/api/v2/datasets/doi%3A10.5061%2Fdryad.mj8m0/versions"
    doc = ds_doc(_links={"stash:version": {"href": "/api/v2/versions/5"},
                         "stash:versions": {"href": "/api/v2/datasets/doi%3A10.5061%2Fdryad.mj8m0/versions"}})
    routes = {dataset_url(DRYAD, DOI): doc,
              listing: {"_links": {"next": {"href": f"{listing}?page=2"}}, "_embedded": {"stash:versions": [
                  {"versionNumber": 1, "_links": {"self": {"href": "/api/v2/versions/4"}}}]}},
              f"{listing}?page=2": {"_embedded": {"stash:versions": [
                  {"versionNumber": 2, "_links": {"stash:files": {"href": "/api/v2/versions/5/files"}}}]}},
              f"{DRYAD}/api/v2/versions/4/files": page([dfile(1, "old.csv")])}
    m = _run(routes, RecordRef("dryad", DRYAD, DOI, "Dryad", version="v1"))
    assert [f.path for f in m.files] == ["old.csv"] and m.dataset.version == "1"
    with pytest.raises(RecordNotFound, match=r"no version 4 \(available: 1, 2\)"):
        _run(routes, RecordRef("dryad", DRYAD, DOI, "Dryad", version="4"))
    with pytest.raises(UsageError):
        _run(routes, RecordRef("dryad", DRYAD, DOI, "Dryad", version="1.0"))
