"""Mendeley Data adapter: DOI/URL forms, versions, nested folders, sha256, the User-Agent filter, end to end."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

import doi2data
from doi2data.adapters import mendeley
from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.mendeley import ADAPTER, BROWSER_USER_AGENT, MENDELEY
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError, UsageError
from doi2data.http import USER_AGENT, Http
from doi2data.model import Manifest
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.mendeley_pangaea import MENDELEY_DATASET as MD
from doi2data.sandbox.mendeley_pangaea import MENDELEY_STORAGE

SHA = "ab" * 32
API = f"{MENDELEY}/public-api/datasets/abcdef1234"


def _res(url: str, doi: str | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, None)


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[str, Any], ref: RecordRef, seen: list[httpx.Request] | None = None) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(request)
        body = table.get(_key(str(request.url)))
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(404, json={"message": "Not Found"}) if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), headers={"User-Agent": USER_AGENT}) as c:
            return await ADAPTER.list_files(ref, _res("x"), Http(c, max_attempts=1))

    return asyncio.run(go())


def mfile(fid: str, name: str, size: int = 5, digest: str = SHA, **extra: Any) -> dict[str, Any]:
    return {"filename": name, "id": fid, "size": size, "status": "COMPLETED",
            "content_details": {"sha256_hash": digest, "content_type": "text/plain", "size": size,
                                "download_url": f"{MENDELEY}/public-files/datasets/abcdef1234/files/{fid}/file_downloaded"},
            **extra}


def doc(version: int = 3, **extra: Any) -> dict[str, Any]:
    return {"id": "abcdef1234", "name": "Turtles", "version": version, "publish_date": "2022-05-10T08:30:00.000Z",
            "contributors": [{"first_name": "Luísa", "last_name": "Ferreira"}, {"last_name": "Costa"}],
            "data_licence": {"short_name": "CC BY 4.0"}, **extra}


def ref(record_id: str = "abcdef1234", version: str | None = None) -> RecordRef:
    return RecordRef("mendeley", MENDELEY, record_id, "Mendeley Data", version)


# --- recognize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, doi, rid", [
    ("https://data.mendeley.com/datasets/p6wmtv6t5g/2", "10.17632/p6wmtv6t5g.2", "p6wmtv6t5g@2"),
    ("https://data.mendeley.com/datasets/p6wmtv6t5g", "10.17632/p6wmtv6t5g", "p6wmtv6t5g"),
    ("https://example.org/", "10.17632/P6WMTV6T5G.2", "p6wmtv6t5g@2"),
    ("https://data.mendeley.com/datasets/p6wmtv6t5g/1", None, "p6wmtv6t5g@1"),
    ("http://data.mendeley.com/datasets/P6WMTV6T5G/", None, "p6wmtv6t5g"),
    ("https://data.mendeley.com/public-api/datasets/p6wmtv6t5g/files?folder_id=root&version=2", None, "p6wmtv6t5g"),
])
def test_recognize(url: str, doi: str | None, rid: str) -> None:
    got = ADAPTER.recognize(_res(url, doi))
    assert got is not None and (got.adapter, got.api_base, got.record_id, got.repository) == (
        "mendeley", MENDELEY, rid, "Mendeley Data")


@pytest.mark.parametrize("url, doi", [
    ("https://data.mendeley.com/", None), ("https://data.mendeley.com/research-data/?search=x", None),
    ("https://www.mendeley.com/catalogue/abc/", None), ("https://example.org/datasets/p6wmtv6t5g/2", None),
    ("https://example.org/", "10.17632/"), ("https://example.org/", "10.1763/p6wmtv6t5g.2"),
    ("https://zenodo.org/records/1", "10.5281/zenodo.1"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


def test_version_choice() -> None:
    assert mendeley.wanted_version(ref()) is None
    assert mendeley.wanted_version(ref("abcdef1234@2")) == "2"
    assert mendeley.wanted_version(ref("abcdef1234@2", "v1")) == "1"  # --version wins over the DOI's .2
    with pytest.raises(UsageError):
        mendeley.wanted_version(ref(version="1.0"))


def test_browser_user_agent_only_for_mendeley_hosts() -> None:
    assert BROWSER_USER_AGENT.startswith("Mozilla/5.0 (compatible; doi2data/") and "github.com" in BROWSER_USER_AGENT
    assert mendeley.api_headers(MENDELEY) == {"User-Agent": BROWSER_USER_AGENT}
    assert mendeley.api_headers("https://evil-mendeley.com.example.org") == {}
    assert mendeley.api_headers("https://zenodo.org") == {}


# --- parsing ---------------------------------------------------------------------------------------

def test_folder_paths_flat_nested_and_broken() -> None:
    flat = [{"id": "a", "name": "photos"}, {"id": "b", "name": "2019", "parent_id": "a"},
            {"id": "c", "name": "site A", "parent_id": "b"}, {"id": "d", "name": "old", "parent_folder_id": "a"},
            {"id": "e", "name": "orphan", "parent_id": "gone"}, {"id": "x", "name": "x", "parent_id": "y"},
            {"id": "y", "name": "y", "parent_id": "x"}, {"name": "no id"}, "junk"]
    paths = mendeley.folder_paths(flat)
    assert paths["c"] == "photos/2019/site A" and paths["d"] == "photos/old" and paths["e"] == "orphan"
    assert {paths["x"], paths["y"]} == {"y/x", "x/y"}  # a cycle ends the chain instead of looping
    nested = [{"id": "a", "name": "top", "children": [{"id": "b", "name": "inner", "children": [{"id": "c",
                                                                                                  "name": "deep"}]}]}]
    assert mendeley.folder_paths(nested) == {"a": "top", "b": "top/inner", "c": "top/inner/deep"}
    assert mendeley.folder_paths({"not": "a list"}) == {}


def test_files_sha256_status_and_sizes() -> None:
    files = [mfile("1", "a.csv", digest=SHA.upper()),
             {**mfile("2", "b.bin"), "size": None},
             mfile("3", "c.txt", status="PENDING"),
             {"filename": "d.txt", "size": 3, "status": "COMPLETED", "content_details": {"sha256_hash": "zz"}}]
    got = {f.path: f for f in mendeley.parse_files(files, "raw")}
    assert got["raw/a.csv"].checksums == {"sha256": SHA} and got["raw/a.csv"].access == "open"
    assert got["raw/a.csv"].url == f"{MENDELEY}/public-files/datasets/abcdef1234/files/1/file_downloaded"
    assert got["raw/b.bin"].size == 5  # from content_details when the top-level size is missing
    assert got["raw/c.txt"].access == "offline" and "PENDING" in (got["raw/c.txt"].note or "")
    assert got["raw/d.txt"].access == "offline" and got["raw/d.txt"].checksums == {}  # no URL, bad digest dropped
    with pytest.raises(RepositoryError):
        mendeley.parse_files({"files": []})
    with pytest.raises(RepositoryError):
        mendeley.parse_files([{"size": 3}])


def test_dataset_metadata() -> None:
    ds = mendeley.parse_dataset(doc(doi={"id": "10.17632/abcdef1234.3"}))
    assert (ds.title, ds.version, ds.year, ds.license) == ("Turtles", "3", 2022, "CC BY 4.0")
    assert ds.creators == ("Ferreira, Luísa", "Costa")
    assert (ds.doi, ds.concept_doi, ds.version_doi) == ("10.17632/abcdef1234.3", "10.17632/abcdef1234",
                                                        "10.17632/abcdef1234.3")
    assert ds.landing_url == "https://data.mendeley.com/datasets/abcdef1234/3"
    older = mendeley.parse_dataset(doc(doi={"id": "10.17632/abcdef1234.3"}), version="1")
    assert (older.version, older.doi) == ("1", "10.17632/abcdef1234.1")  # not the document's own DOI
    bad: Any
    for bad in ([], {"message": "Not found"}, {"id": "x"}):
        with pytest.raises(RepositoryError):
            mendeley.parse_dataset(bad)


def test_manifest_duplicates_and_empty() -> None:
    m = mendeley.parse_manifest(doc(), {"root": [mfile("1", "a.txt"), mfile("2", "a.txt")]}, [])
    assert [f.path for f in m.files] == ["a.txt"] and any("duplicate" in w for w in m.warnings)
    empty = mendeley.parse_manifest(doc(files=[]))
    assert empty.files == () and any("no files" in w for w in empty.warnings)


# --- list_files ------------------------------------------------------------------------------------

def test_list_files_walks_folders_with_the_browser_user_agent() -> None:
    seen: list[httpx.Request] = []
    routes = {API: doc(), f"{API}/folders/3": [{"id": "f1", "name": "raw"}, {"id": "f2", "name": "2019",
                                                                             "parent_id": "f1"}],
              f"{API}/files?folder_id=root&version=3": [mfile("1", "README.md")],
              f"{API}/files?folder_id=f1&version=3": [],
              f"{API}/files?folder_id=f2&version=3": [mfile("2", "x y.csv")]}
    m = _run(routes, ref(), seen)
    assert [f.path for f in m.files] == ["README.md", "raw/2019/x y.csv"]
    assert m.dataset.version == "3" and m.dataset.repository == "Mendeley Data"
    assert len(seen) == 5 and {r.headers["user-agent"] for r in seen} == {BROWSER_USER_AGENT}


def test_list_files_asked_version_and_missing_version() -> None:
    routes = {f"{API}?version=2": doc(version=2), f"{API}/folders/2": [],
              f"{API}/files?folder_id=root&version=2": [mfile("1", "old.csv")],
              f"{API}/versions": [{"version": 1}, {"version": 2}, {"version": 3}]}
    m = _run(routes, ref("abcdef1234@3", version="2"))
    assert [f.path for f in m.files] == ["old.csv"] and m.dataset.version == "2"
    with pytest.raises(RecordNotFound, match=r"no version 7 \(available: 1, 2, 3\)"):
        _run(routes, ref("abcdef1234@7"))
    with pytest.raises(RecordNotFound):  # the dataset itself is missing: no version list either
        _run({}, ref(version="2"))


def test_list_files_errors() -> None:
    with pytest.raises(AccessDenied):
        _run({API: httpx.Response(403, text="<html>blocked</html>")}, ref())
    with pytest.raises(RepositoryError, match="no version"):
        _run({API: {"id": "abcdef1234", "name": "x"}}, ref())


# --- through the fake internet ---------------------------------------------------------------------

def test_emulator_refuses_library_user_agents(net: FakeInternet) -> None:
    url = f"https://data.mendeley.com/public-api/datasets/{MD.id}"
    with httpx.Client() as client:
        assert client.get(url, headers={"User-Agent": USER_AGENT}).status_code == 403
        assert client.get(url, headers={"User-Agent": "python-requests/2.31"}).status_code == 403
        ok = client.get(url, headers={"User-Agent": BROWSER_USER_AGENT})
    assert ok.status_code == 200 and ok.json()["version"] == MD.versions[-1].number


def _files(dest: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*")
            if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_get_latest_verifies_sha256_and_keeps_nested_folders(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    latest = MD.versions[-1]
    run = cli("ls", MD.doi(), "--json")
    assert run.code == 0, run.err
    listed = {f["path"]: f for f in json.loads(run.out)["files"]}
    assert set(listed) == {f.key for f in latest.files} and "photos/2019/site A/turtle_001.jpg" in listed
    assert all(listed[f.key]["checksums"] == {"sha256": net.world.digest(f, "sha256")} for f in latest.files)
    run = cli("get", MD.doi(), "md", "-q")
    assert run.code == 0, run.err
    got = _files(tmp_path / "md")
    assert set(got) == {f.key for f in latest.files}
    for spec in latest.files:
        assert hashlib.sha256(got[spec.key]).hexdigest() == listed[spec.key]["checksums"]["sha256"], spec.key
        assert got[spec.key] == net.world.read(spec)
    api = [r for r in net.log if r.host == "data.mendeley.com" and r.path.startswith("/public-api/")]
    assert api and {r.status for r in api} == {200} and {r.headers.get("user-agent") for r in api} == {
        BROWSER_USER_AGENT}
    downloads = [r for r in net.log if r.path.endswith("/file_downloaded")]
    assert len(downloads) == len(latest.files) and {r.status for r in downloads} == {302}
    assert all(r.headers.get("user-agent") == USER_AGENT for r in downloads)  # the browser UA stays with the API
    assert {r.status for r in net.log if r.host == MENDELEY_STORAGE} == {200}
    gc.collect()  # the sandbox proxy drops a StreamWriter when a client process exits: collect it here


def test_versioned_doi_and_version_option(net: FakeInternet, tmp_path: Path) -> None:
    first = MD.versions[0]
    m = doi2data.resolve(MD.doi(1))
    assert {f.path: f.checksums["sha256"] for f in m.files} == {f.key: net.world.digest(f, "sha256")
                                                                for f in first.files}
    assert m.dataset.doi == MD.doi(1) and m.dataset.version == "1"
    pinned = doi2data.resolve(MD.doi(), version="1")
    assert [f.path for f in pinned.files] == [f.key for f in first.files]
    with pytest.raises(RecordNotFound, match="available: 1, 2"):
        doi2data.resolve(MD.doi(), version="9")


def test_version_parameter_refused_falls_back_to_latest_metadata() -> None:
    """``?version=`` is documented for the authenticated API only: a refusal keeps the asked version's files."""
    routes = {f"{API}?version=2": httpx.Response(400, json={"error": 400}), API: doc(version=3),
              f"{API}/folders/2": [], f"{API}/files?folder_id=root&version=2": [mfile("1", "old.csv")]}
    m = _run(routes, ref("abcdef1234@2"))
    assert [f.path for f in m.files] == ["old.csv"] and m.dataset.version == "2"
    assert m.dataset.version_doi == "10.17632/abcdef1234.2"
    ignored = {f"{API}?version=7": doc(version=3), f"{API}/versions": [{"version": 3}]}  # the server ignores it
    with pytest.raises(RecordNotFound, match=r"no version 7 \(available: 3\)"):
        _run(ignored, ref("abcdef1234@7"))
