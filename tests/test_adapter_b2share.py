"""B2SHARE adapter: v2 records and buckets, access, the 404 body, and v3 (InvenioRDM) records."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from doi2data.adapters.b2share import ADAPTER, B2SHARE, bucket_link, file_url, is_rdm, parse_record
from doi2data.adapters.base import RecordRef, Resolved
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Manifest

RID = "db2ef5890fa44c7a85af366a50de73b9"
MD5 = "0123456789abcdef0123456789abcdef"


def _res(url: str, doi: str | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, None)


def _run(routes: dict[str, Any], rid: str = RID) -> Manifest:
    def handler(request: httpx.Request) -> httpx.Response:
        body = routes.get(str(request.url))
        if isinstance(body, int):
            return httpx.Response(body, json={"message": "x", "status": body})
        if body is None:
            return httpx.Response(404, json={"message": "PID does not exist.", "status": 404})
        return httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(RecordRef("b2share", B2SHARE, rid, "B2SHARE"),
                                            _res(f"{B2SHARE}/records/{rid}"), Http(client, max_attempts=1))

    return asyncio.run(go())


def record(files: Any, **meta: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": RID, "created": "2024-02-13T10:00:00+00:00",
                           "links": {"self": f"{B2SHARE}/api/records/{RID}", "files": f"{B2SHARE}/api/files/bkt"},
                           "metadata": {"titles": [{"title": "SPSS data"}], "creators": [{"creator_name": "Doe, J"}],
                                        "publication_date": "2024-02-13", "open_access": True,
                                        "alternate_identifiers": [{"alternate_identifier": f"10.23728/b2share.{RID}",
                                                                   "alternate_identifier_type": "DOI"}], **meta}}
    if files is not None:
        doc["files"] = files
    return doc


def bfile(key: str, size: int = 4, bucket: str = "bkt") -> dict[str, Any]:
    return {"bucket": bucket, "key": key, "size": size, "checksum": f"md5:{MD5}",
            "ePIC_PID": "http://hdl.handle.net/11304/abc", "version_id": "v1"}


def rdm(files: Any, access: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "abcd1-ef234", "pids": {"doi": {"identifier": "10.23728/b2share.abcd1-ef234"}},
            "parent": {"id": "zzzz1-yyy22"}, "metadata": {"title": "RDM", "publication_date": "2025-10-01"},
            "access": access or {"record": "public", "files": "public", "embargo": {"active": False}},
            "files": files, "links": {"self_html": f"{B2SHARE}/records/abcd1-ef234",
                                      "files": f"{B2SHARE}/api/records/abcd1-ef234/files"}}


@pytest.mark.parametrize("url, doi, base, rid", [
    (f"https://b2share.eudat.eu/records/{RID}", None, B2SHARE, RID),
    (f"https://b2share.eudat.eu/api/records/{RID}", None, B2SHARE, RID),
    (f"https://trng-b2share.eudat.eu/records/{RID}", None, "https://trng-b2share.eudat.eu", RID),
    (f"https://b2share.fz-juelich.de/records/{RID}", None, "https://b2share.fz-juelich.de", RID),
    ("https://b2share.eudat.eu/records/abcd1-ef234", None, B2SHARE, "abcd1-ef234"),
    ("https://doi.org/x", f"10.23728/b2share.{RID}", B2SHARE, RID),
])
def test_recognize(url: str, doi: str | None, base: str, rid: str) -> None:
    ref = ADAPTER.recognize(_res(url, doi))
    assert ref is not None and (ref.adapter, ref.api_base, ref.record_id, ref.repository) == ("b2share", base, rid, "B2SHARE")


@pytest.mark.parametrize("url, doi", [
    ("https://b2share.eudat.eu/", None), ("https://b2share.eudat.eu/communities/EUDAT", None),
    ("https://b2share.eudat.eu/records/notanid", None), (f"https://zenodo.org/records/{RID}", None),
    ("https://example.org/", "10.23728/other.123"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


def test_v2_record() -> None:
    m = parse_record(record([bfile("2024-02-13.sav"), bfile("dir/a b#1.txt", 9)], license={"license": "CC-BY-4.0"},
                            resource_types=[{"resource_type_general": "Dataset"}], version="2", publisher="EUDAT"))
    got = {f.path: (f.size, dict(f.checksums), f.urls) for f in m.files}
    assert got["2024-02-13.sav"] == (4, {"md5": MD5}, (f"{B2SHARE}/api/files/bkt/2024-02-13.sav",
                                                       "http://hdl.handle.net/11304/abc"))
    url = got["dir/a b#1.txt"][2][0]
    assert url == f"{B2SHARE}/api/files/bkt/dir/a%20b%231.txt" and unquote(urlsplit(url).path).endswith("/dir/a b#1.txt")
    ds = m.dataset
    assert (ds.doi, ds.title, ds.creators, ds.license, ds.resource_type, ds.year, ds.version, ds.publisher) == (
        f"10.23728/b2share.{RID}", "SPSS data", ("Doe, J",), "CC-BY-4.0", "Dataset", 2024, "2", "EUDAT")
    assert ds.landing_url == f"{B2SHARE}/records/{RID}" and bucket_link(record([]), B2SHARE) is None


@pytest.mark.parametrize("meta, access, note", [
    ({"open_access": False}, "restricted", "restricted: the files need a B2SHARE login with access"),
    ({"open_access": False, "embargo_date": "2030-01-01"}, "embargoed", "embargoed until 2030-01-01"),
    ({"open_access": True, "embargo_date": "2017-09-01"}, "open", None),
])
def test_v2_access(meta: dict[str, Any], access: str, note: str | None) -> None:
    m = parse_record(record([bfile("a")], **meta))
    assert (m.dataset.access, m.dataset.note, m.files[0].access) == (access, note, access)


def test_bucket_listing_skips_old_versions() -> None:
    doc = {"id": "bkt", "links": {"self": f"{B2SHARE}/api/files/bkt"}, "contents": [
        {"key": "a.txt", "size": 1, "checksum": f"md5:{MD5}", "is_head": True, "delete_marker": False},
        {"key": "old.txt", "size": 1, "checksum": f"md5:{MD5}", "is_head": False},
        {"key": "gone.txt", "size": 1, "checksum": f"md5:{MD5}", "delete_marker": True}]}
    assert [(f.path, f.url) for f in parse_record(doc).files] == [("a.txt", f"{B2SHARE}/api/files/bkt/a.txt")]
    assert file_url(B2SHARE, "b k", "x/y z") == f"{B2SHARE}/api/files/b%20k/x/y%20z"


@pytest.mark.parametrize("doc", [None, [], {"id": RID}, record("x"), record([3]), record([{"size": 1}])])
def test_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_record(doc)


def test_404_body_is_record_not_found() -> None:
    with pytest.raises(RecordNotFound):
        parse_record({"message": "PID does not exist.", "status": 404})
    with pytest.raises(RecordNotFound):
        _run({f"{B2SHARE}/api/records/{RID}": {"message": "PID does not exist.", "status": 404}})


def test_list_files_inline_and_bucket() -> None:
    assert [f.path for f in _run({f"{B2SHARE}/api/records/{RID}": record([bfile("x")])}).files] == ["x"]
    routes = {f"{B2SHARE}/api/records/{RID}": record(None),
              f"{B2SHARE}/api/files/bkt": {"id": "bkt", "contents": [{"key": "y", "size": 2, "checksum": f"md5:{MD5}"}]}}
    m = _run(routes)
    assert [(f.path, f.url) for f in m.files] == [("y", f"{B2SHARE}/api/files/bkt/y")] and m.warnings == ()


def test_restricted_bucket_denied_is_a_warning() -> None:
    routes = {f"{B2SHARE}/api/records/{RID}": record(None, open_access=False), f"{B2SHARE}/api/files/bkt": 403}
    m = _run(routes)
    assert m.files == () and len(m.warnings) == 1 and "restricted" in m.warnings[0]
    with pytest.raises(AccessDenied):
        _run({f"{B2SHARE}/api/records/{RID}": record(None), f"{B2SHARE}/api/files/bkt": 403})


def test_v3_rdm_records_use_the_invenio_parser() -> None:
    entries = {"entries": [{"key": "f.csv", "size": 3, "checksum": f"md5:{MD5}",
                            "links": {"content": f"{B2SHARE}/api/records/abcd1-ef234/files/f.csv/content"}}]}
    assert is_rdm(rdm({"enabled": True})) and not is_rdm(record([]))
    routes = {f"{B2SHARE}/api/records/abcd1-ef234": rdm({"enabled": True}),
              f"{B2SHARE}/api/records/abcd1-ef234/files": entries}
    m = _run(routes, rid="abcd1-ef234")
    assert [(f.path, f.size, f.url) for f in m.files] == [("f.csv", 3, f"{B2SHARE}/api/records/abcd1-ef234/files/f.csv/content")]
    assert m.dataset.repository == "B2SHARE" and m.dataset.title == "RDM"
    restricted = {"record": "public", "files": "restricted", "embargo": {"active": False}}
    m = _run({f"{B2SHARE}/api/records/abcd1-ef234": rdm({"enabled": True}, restricted),
              f"{B2SHARE}/api/records/abcd1-ef234/files": 403}, rid="abcd1-ef234")
    assert m.files == () and len(m.warnings) == 1
