"""OSF adapter: GUID/DOI forms, providers, folder recursion, JSON:API pagination, registrations and file GUIDs."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.osf import ADAPTER, OSF_API, parse_listing, parse_node
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Manifest

V2 = f"{OSF_API}/v2"
MD5 = "0123456789abcdef0123456789abcdef"
SHA256 = "ab" * 32
P = "?page[size]=100"


def _res(url: str, doi: str | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, None)


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[str, Any], guid: str = "abcde", seen: list[str] | None = None) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(str(request.url))
        body = table.get(_key(str(request.url)))
        if isinstance(body, int):
            return httpx.Response(body, json={"errors": [{"detail": "x"}]})
        return httpx.Response(404, json={"errors": [{"detail": "Not found."}]}) if body is None \
            else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(RecordRef("osf", OSF_API, guid, "OSF"), _res(f"https://osf.io/{guid}/"),
                                            Http(client, max_attempts=1))

    return asyncio.run(go())


def item(kind: str, path: str, *, provider: str = "osfstorage", size: int | None = 5, related: str | None = None,
         dl: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": path, "type": "files", "attributes": {
        "kind": kind, "name": path.strip("/").rpartition("/")[2], "materialized_path": path, "provider": provider,
        "size": size if kind == "file" else None,
        "extra": {"hashes": {"md5": MD5, "sha256": SHA256} if kind == "file" else {"md5": None, "sha256": None}}},
        "links": {"download": dl or f"https://osf.io/download/{path.strip('/')}/"} if kind == "file" else {}}
    if related:
        out["relationships"] = {"files": {"links": {"related": {"href": related}}}}
    return out


def listing(items: list[Any], nxt: str | None = None) -> dict[str, Any]:
    return {"data": items, "links": {"next": nxt, "meta": {"total": len(items), "per_page": 10}}}


def node(guid: str = "abcde", kind: str = "nodes") -> dict[str, Any]:
    return {"data": {"id": guid, "type": kind, "attributes": {"title": "Project", "category": "project",
                                                              "date_created": "2020-02-02T00:00:00"},
                     "links": {"html": f"https://osf.io/{guid}/"},
                     "relationships": {"files": {"links": {"related": {"href": f"{V2}/{kind}/{guid}/files/"}}}}}}


def providers(*names: str, kind: str = "nodes") -> dict[str, Any]:
    return listing([item("folder", "/", provider=n, related=f"{V2}/{kind}/abcde/files/{n}/") for n in names])


@pytest.mark.parametrize("url, doi, base, guid", [
    ("https://osf.io/kq573/", None, OSF_API, "kq573"), ("https://osf.io/KQ573", None, OSF_API, "kq573"),
    ("https://osf.io/kq573/files/osfstorage/", None, OSF_API, "kq573"), ("https://osf.io/kq573/wiki/home/", None, OSF_API, "kq573"),
    ("https://www.osf.io/3ua2c", None, OSF_API, "3ua2c"), ("https://test.osf.io/y8t6r/", None, "https://api.test.osf.io", "y8t6r"),
    ("https://api.osf.io/v2/nodes/kq573/", None, OSF_API, "kq573"),
    ("https://api.osf.io/v2/registrations/ab12c/files/", None, OSF_API, "ab12c"),
    ("https://osf.io/download/bexrz/", None, OSF_API, "bexrz"),
    ("https://doi.org/10.17605/OSF.IO/9X6CA", "10.17605/OSF.IO/9X6CA", OSF_API, "9x6ca"),
    ("https://example.org/", "10.17605/osf.io/kq573", OSF_API, "kq573"),
])
def test_recognize(url: str, doi: str | None, base: str, guid: str) -> None:
    ref = ADAPTER.recognize(_res(url, doi))
    assert ref is not None and (ref.adapter, ref.api_base, ref.record_id) == ("osf", base, guid)


@pytest.mark.parametrize("url, doi", [
    ("https://osf.io/", None), ("https://osf.io/login", None), ("https://osf.io/about/", None),
    ("https://osf.io/preprints/psyarxiv/abcde", None), ("https://osf.io/registries/discover", None),
    ("https://osf.io/toolongguid/", None), ("https://files.osf.io/v1/resources/abcde/providers/osfstorage/", None),
    ("https://notosf.io/abcde", None), ("https://example.org/abcde", "10.17605/OSF.IO/TOOLONGX"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


def test_parse_listing_and_node() -> None:
    page = parse_listing(listing([item("file", "/a.txt"), item("folder", "/d/", related=f"{V2}/nodes/abcde/files/osfstorage/d/"),
                                  item("file", "/b", size=None)], nxt=f"{V2}/x?page=2"))
    assert [(p, e.path, e.size, dict(e.checksums)) for p, e in page.files] == [
        ("osfstorage", "a.txt", 5, {"md5": MD5, "sha256": SHA256}), ("osfstorage", "b", None, {"md5": MD5, "sha256": SHA256})]
    assert page.folders == (("osfstorage", f"{V2}/nodes/abcde/files/osfstorage/d/"),) and page.next == f"{V2}/x?page=2"
    ds, href = parse_node(node())
    assert (ds.title, ds.year, ds.record_id, href) == ("Project", 2020, "abcde", f"{V2}/nodes/abcde/files/")


@pytest.mark.parametrize("doc", [None, {"data": None}, {"data": [3]}, listing([{"attributes": {"kind": "weird"}}]),
                                 listing([item("file", "/")])])
def test_parse_listing_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_listing(doc)


def test_list_files_recurses_and_pages() -> None:
    root = f"{V2}/nodes/abcde/files/osfstorage/"
    routes = {f"{V2}/nodes/abcde/": node(), f"{V2}/nodes/abcde/files/{P}": providers("osfstorage"),
              f"{root}{P}": listing([item("file", "/a.txt"), item("folder", "/d/", related=f"{root}d/")],
                                    nxt=f"{root}?page=2&page[size]=100"),
              f"{root}?page=2&page[size]=100": listing([item("file", "/z.txt")]),
              f"{root}d/{P}": listing([item("folder", "/d/e/", related=f"{root}e/"), item("file", "/d/b.txt")]),
              f"{root}e/{P}": listing([item("file", "/d/e/c.txt")])}
    m = _run(routes)
    assert [f.path for f in m.files] == ["a.txt", "d/b.txt", "d/e/c.txt", "z.txt"]
    assert m.dataset.title == "Project" and m.dataset.landing_url == "https://osf.io/abcde/"


def test_several_providers_are_prefixed() -> None:
    routes = {f"{V2}/nodes/abcde/": node(), f"{V2}/nodes/abcde/files/{P}": providers("osfstorage", "github"),
              f"{V2}/nodes/abcde/files/osfstorage/{P}": listing([item("file", "/a.txt")]),
              f"{V2}/nodes/abcde/files/github/{P}": listing([item("file", "/README.md", provider="github", size=None)])}
    assert [f.path for f in _run(routes).files] == ["github/README.md", "osfstorage/a.txt"]


def test_registration_and_file_guid_fallbacks() -> None:
    routes = {f"{V2}/registrations/abcde/": node(kind="registrations"),
              f"{V2}/registrations/abcde/files/{P}": providers("osfstorage", kind="registrations"),
              f"{V2}/registrations/abcde/files/osfstorage/{P}": listing([item("file", "/r.csv")])}
    assert [f.path for f in _run(routes).files] == ["r.csv"]
    single = {f"{V2}/files/bexrz/": {"data": item("file", "/deep/f.pdf", dl="https://osf.io/download/bexrz/")}}
    m = _run(single, guid="bexrz")
    assert [(f.path, f.url) for f in m.files] == [("deep/f.pdf", "https://osf.io/download/bexrz/")]


def test_errors() -> None:
    with pytest.raises(RecordNotFound):
        _run({})
    with pytest.raises(AccessDenied):
        _run({f"{V2}/nodes/abcde/": 401})
    with pytest.raises(RepositoryError):
        _run({f"{V2}/nodes/abcde/": node(), f"{V2}/nodes/abcde/files/{P}": 502})


def test_listing_loops_are_cut() -> None:
    root = f"{V2}/nodes/abcde/files/osfstorage/"
    seen: list[str] = []
    routes = {f"{V2}/nodes/abcde/": node(), f"{V2}/nodes/abcde/files/{P}": providers("osfstorage"),
              f"{root}{P}": listing([item("file", "/a"), item("folder", "/a2/", related=root)], nxt=f"{root}?page=2"),
              f"{root}?page=2": listing([item("file", "/b")], nxt=f"{root}?page=2")}
    assert [f.path for f in _run(routes, seen=seen).files] == ["a", "b"] and len(seen) == 5  # 5th: /children/


def test_failing_add_on_provider_is_a_warning() -> None:
    routes = {f"{V2}/nodes/abcde/": node(), f"{V2}/nodes/abcde/files/{P}": providers("osfstorage", "dropbox"),
              f"{V2}/nodes/abcde/files/osfstorage/{P}": listing([item("file", "/a.txt")]),
              f"{V2}/nodes/abcde/files/dropbox/{P}": 502}
    m = _run(routes)
    assert [f.path for f in m.files] == ["osfstorage/a.txt"] and "dropbox" in m.warnings[0]
    routes[f"{V2}/nodes/abcde/files/osfstorage/{P}"] = 500  # but osfstorage itself must list
    with pytest.raises(RepositoryError):
        _run(routes)


# -- components (issue 13 item 4) -----------------------------------------------------------------
def child(guid: str, title: str) -> dict[str, Any]:
    return {"id": guid, "type": "nodes", "attributes": {"title": title, "category": "data",
                                                        "date_created": "2021-01-01T00:00:00"},
            "links": {"html": f"https://osf.io/{guid}/"},
            "relationships": {"files": {"links": {"related": {"href": f"{V2}/nodes/{guid}/files/"}}},
                              "children": {"links": {"related": {"href": f"{V2}/nodes/{guid}/children/"}}}}}


def test_components_are_listed_as_folders_recursively() -> None:
    def files_of(guid: str, *names: str) -> dict[str, Any]:
        root = f"{V2}/nodes/{guid}/files/osfstorage/"
        return {f"{V2}/nodes/{guid}/files/{P}": listing([item("folder", "/", related=root)]),
                f"{root}{P}": listing([item("file", f"/{n}") for n in names])}

    routes = {f"{V2}/nodes/abcde/": node(), **files_of("abcde", "readme.txt"),
              f"{V2}/nodes/abcde/children/{P}": listing([child("kid01", "Site A"), child("kid02", "B/C data")],
                                                        nxt=f"{V2}/nodes/abcde/children/?page=2"),
              f"{V2}/nodes/abcde/children/?page=2": listing([child("kid03", "Private one"), child("abcde", "loop")]),
              **files_of("kid01", "a.csv"), **files_of("kid02", "b.csv"),
              f"{V2}/nodes/kid03/files/{P}": 403,
              f"{V2}/nodes/kid02/children/{P}": listing([child("grand", "Calibration")]),
              **files_of("grand", "cal.json")}
    manifest = _run(routes)
    assert [f.path for f in manifest.files] == ["B_C data (kid02)/Calibration (grand)/cal.json",
                                                "B_C data (kid02)/b.csv", "Site A (kid01)/a.csv", "readme.txt"]
    assert any("3 component(s) listed as folders" in w for w in manifest.warnings)
    assert any("'Private one (kid03)' could not be listed" in w for w in manifest.warnings)


def test_spent_budget_says_so_and_how_to_go_on() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "1800"},
                              json={"errors": [{"detail": "Request was throttled. Expected available in 1800 seconds."}]})

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(RecordRef("osf", OSF_API, "abcde", "OSF"), _res("https://osf.io/abcde/"),
                                            Http(client, max_attempts=2))

    with pytest.raises(RepositoryError) as err:
        asyncio.run(go())
    text = str(err.value)
    assert "100 requests an hour" in text and "about 30 min" in text and "re-run resumes" in text
    assert "--token api.osf.io=TOKEN" in text and "\n" not in text


def test_default_rates_are_osf_budgets() -> None:
    from doi2data.transfer.limits import HostLimiter, Window

    assert HostLimiter().rates["api.osf.io"] == (Window(100, 3600.0),)
    assert HostLimiter(authenticated=["api.osf.io"]).rates["api.osf.io"] == (Window(10_000, 86_400.0),)


def test_emulated_project_with_components_and_budget(cli: Any, net: Any, tmp_path: Any) -> None:
    import json

    from doi2data.errors import RepositoryError as RE
    from doi2data.sandbox.sites import osf as site

    run = cli("ls", f"https://osf.io/{site.PROJECT.guid}/", "--json")
    assert run.code == 0, run.err
    paths = {f["path"] for f in json.loads(run.out)["files"]}
    assert paths == {"README.md", "Site A data (sbxc1)/site-a.csv", "Site A data (sbxc1)/raw/a-2020.txt",
                     "Site B_C data (sbxc2)/site-b.csv", "Site B_C data (sbxc2)/Calibration (sbxg1)/calibration.json"}
    got = cli("get", f"https://osf.io/{site.PROJECT.guid}/", str(tmp_path / "out"))
    assert got.code == 0, got.err
    assert (tmp_path / "out" / "Site B_C data (sbxc2)" / "Calibration (sbxg1)" / "calibration.json").read_bytes() \
        == b'{"gain": 1.02}\n'
    st = site.state(net.world)
    try:
        st.anonymous_budget = 2
        spent = cli("ls", f"https://osf.io/{site.PROJECT.guid}/")
        assert spent.code == RE.exit_code and "100 requests an hour" in spent.err and "re-run resumes" in spent.err
        assert st.throttled >= 1
        st.token_budget = 1000
        with_token = cli("ls", f"https://osf.io/{site.PROJECT.guid}/", "--token", f"api.osf.io={site.TOKEN}")
        assert with_token.code == 0, with_token.err  # a token has its own, larger budget
    finally:
        st.reset()
