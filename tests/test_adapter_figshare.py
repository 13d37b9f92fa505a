"""Figshare adapter: portal URL forms, DOIs, link-only files, folders, access, the 10-file cap, collections, 4TU."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

from doi2data.adapters import figshare
from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.figshare import ADAPTER, FIGSHARE_API, FOURTU_API, needs_file_listing, parse_article
from doi2data.errors import RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Dataset, Manifest

API = "https://api.figshare.com/v2"
MD5 = "0123456789abcdef0123456789abcdef"
MD5B = "fedcba9876543210fedcba9876543210"


def _res(url: str, doi: str | None = None, meta: Dataset | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, meta)


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[str, Any], ref: RecordRef, resolved: Resolved | None = None,
         seen: list[str] | None = None) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(str(request.url))
        body = table.get(_key(str(request.url)))
        return httpx.Response(404, json={"message": "Entity not found"}) if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(ref, resolved or _res("x"), Http(client, max_attempts=1))

    return asyncio.run(go())


def ffile(fid: int, name: str, size: int = 5, md5: str = MD5, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "name": name, "size": size, "is_link_only": False, "computed_md5": md5, "supplied_md5": md5,
            "download_url": f"https://ndownloader.figshare.com/files/{fid}", **extra}


def article(files: Any, aid: int = 100, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "title": f"Article {aid}", "doi": f"10.6084/m9.figshare.{aid}.v2", "version": 2,
            "size": sum(f.get("size", 0) for f in files if isinstance(f, dict)), "published_date": "2020-05-01T00:00:00Z",
            "authors": [{"full_name": "A B"}], "license": {"name": "CC0"}, "defined_type_name": "dataset",
            "figshare_url": f"https://figshare.com/articles/dataset/x/{aid}", "files": files, **extra}


# --- recognize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, doi, base, rid", [
    ("https://figshare.com/articles/dataset/Test/14763051", None, FIGSHARE_API, "14763051"),
    ("https://figshare.com/articles/dataset/Test/14763051/3", None, FIGSHARE_API, "14763051@3"),
    ("https://figshare.com/articles/dataset/Test/14763051/3", "10.6084/m9.figshare.14763051", FIGSHARE_API, "14763051"),
    ("https://figshare.com/articles/x/1", "10.6084/M9.FIGSHARE.14763051.V1", FIGSHARE_API, "14763051@1"),
    ("https://figshare.com/articles/RAIN_v1/4234751/1", None, FIGSHARE_API, "4234751@1"),
    ("https://figshare.com/articles/_/8269766", None, FIGSHARE_API, "8269766"),
    ("https://springernature.figshare.com/articles/journal_contribution/Title/5555", None, FIGSHARE_API, "5555"),
    ("https://figshare.manchester.ac.uk/articles/dataset/Data/123456/2", None, FIGSHARE_API, "123456@2"),
    ("https://orda.shef.ac.uk/articles/dataset/Machaka2021ML_Data/25233514", None, FIGSHARE_API, "25233514"),
    ("https://kilthub.cmu.edu/articles/software/Tool/9876543/1", None, FIGSHARE_API, "9876543@1"),
    ("https://figshare.com/collections/Birds/5550", None, FIGSHARE_API, "collection:5550"),
    ("https://example.org/", "10.6084/m9.figshare.c.5550.v3", FIGSHARE_API, "collection:5550@3"),
    ("https://api.figshare.com/v2/articles/14763051/versions/1", None, FIGSHARE_API, "14763051@1"),
    ("https://api.figshare.com/v2/collections/5550", None, FIGSHARE_API, "collection:5550"),
    ("https://data.4tu.nl/articles/_/12689204/1", None, FOURTU_API, "12689204@1"),
    ("https://data.4tu.nl/datasets/3926db30-f712-4394-aebc-75976070e91f/2", None, FOURTU_API,
     "3926db30-f712-4394-aebc-75976070e91f@2"),
    ("https://example.org/", "10.4121/21989216.v1", FOURTU_API, "21989216@1"),
    ("https://figshare.com/articles/journal_contribution/no-id-here", "10.1371/journal.pone.1", FIGSHARE_API,
     "doi:10.1371/journal.pone.1"),
])
def test_recognize(url: str, doi: str | None, base: str, rid: str) -> None:
    ref = ADAPTER.recognize(_res(url, doi))
    assert ref is not None and (ref.adapter, ref.api_base, ref.record_id) == ("figshare", base, rid)
    assert ref.repository == ("4TU.ResearchData" if base == FOURTU_API else "Figshare")


def test_recognize_portal_doi_from_datacite_hint() -> None:
    meta = Dataset(doi="10.15131/shef.data.25233514.v1", repository="figshare Academic Research System")
    ref = ADAPTER.recognize(_res("https://doi.org/10.15131/shef.data.25233514.v1", "10.15131/shef.data.25233514.v1", meta))
    assert ref is not None and ref.record_id == "25233514@1"
    assert ADAPTER.recognize(_res("https://example.org/", "10.15131/shef.data.25233514.v1")) is None  # no hint: not ours


@pytest.mark.parametrize("url, doi", [
    ("https://figshare.com/", None), ("https://figshare.com/account/home", None),
    ("https://example.org/articles/dataset/Title/notanid", None), ("https://example.org/articles/slug/123", None),
    ("https://example.org/news/articles/dataset/x", None), ("https://zenodo.org/records/123", "10.5281/zenodo.123"),
    ("https://dataverse.harvard.edu/dataset.xhtml?persistentId=doi:10.7910/DVN/X", "10.7910/DVN/X"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


# --- parsing ---------------------------------------------------------------------------------------

def test_link_only_folders_and_md5_fallback() -> None:
    files = [ffile(1, "a.txt"), ffile(2, "b.txt", folder=None),
             {"id": 3, "name": "ext", "size": 0, "is_link_only": True, "download_url": "https://elsewhere.org/big.tar",
              "supplied_md5": "", "computed_md5": ""},
             {"id": 4, "name": "c.txt", "size": 7, "is_link_only": False, "computed_md5": "", "supplied_md5": MD5B,
              "download_url": "https://ndownloader.figshare.com/files/4"}]
    m = parse_article(article(files, folder_structure={"1": "Sub/Dir", "4": ""}))
    got = {f.path: (f.size, dict(f.checksums), f.url, f.note) for f in m.files}
    assert got["Sub/Dir/a.txt"] == (5, {"md5": MD5}, "https://ndownloader.figshare.com/files/1", None)
    assert got["ext"] == (None, {}, "https://elsewhere.org/big.tar", figshare.LINK_ONLY_NOTE)
    assert got["c.txt"][1] == {"md5": MD5B}
    ds = m.dataset
    assert (ds.doi, ds.concept_doi, ds.version, ds.license, ds.year) == ("10.6084/m9.figshare.100.v2",
                                                                          "10.6084/m9.figshare.100", "2", "CC0", 2020)


def test_html_title_and_4tu_uuid_files() -> None:
    doc = article([{"id": None, "uuid": "f-1", "name": "r.txt", "size": 3, "is_link_only": False,
                    "computed_md5": MD5, "download_url": "https://data.4tu.nl/file/ds/f-1"}],
                  title="Study of <em>Saccharina</em>", folder_structure={"f-1": "docs"})
    m = parse_article(doc, FOURTU_API)
    assert m.dataset.title == "Study of Saccharina" and m.dataset.repository == "4TU.ResearchData"
    assert [(f.path, f.url) for f in m.files] == [("docs/r.txt", "https://data.4tu.nl/file/ds/f-1")]


@pytest.mark.parametrize("extra, access, note", [
    ({"is_embargoed": True, "embargo_date": "2030-01-01", "embargo_reason": "<p>paper</p>"}, "embargoed",
     "embargoed until 2030-01-01 (paper)"),
    ({"is_confidential": True, "confidential_reason": "patients"}, "restricted", "confidential: patients"),
    ({"download_disabled": True}, "restricted", "downloads are disabled for this item by its owner"),
])
def test_access(extra: dict[str, Any], access: str, note: str) -> None:
    m = parse_article(article([ffile(1, "a")], **extra))
    assert (m.dataset.access, m.dataset.note, m.files[0].access) == (access, note, access)
    empty = parse_article(article([], **extra))
    assert empty.files == () and "no files are listed publicly" in empty.warnings[0]


def test_needs_file_listing() -> None:
    ten = [ffile(i, f"f{i}") for i in range(10)]
    assert not needs_file_listing(article(ten[:9]))
    assert not needs_file_listing(article(ten))  # sizes add up to the article size: complete
    assert needs_file_listing(article(ten, size=10_000))
    assert needs_file_listing({"id": 1, "title": "no files key"})


@pytest.mark.parametrize("doc", [None, [], {"message": "Entity not found", "code": "EntityNotFound"},
                                 article("x"), article([1]), article([{"size": 3}])])
def test_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_article(doc)


# --- list_files ------------------------------------------------------------------------------------

def test_more_than_ten_files_pages_the_files_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figshare, "PAGE_SIZE", 5)
    allf = [ffile(i, f"f{i:02d}") for i in range(12)]
    doc = article(allf[:10], size=sum(f["size"] for f in allf))
    routes = {f"{API}/articles/100": doc,
              f"{API}/articles/100/files?page=1&page_size=5": allf[:5],
              f"{API}/articles/100/files?page=2&page_size=5": allf[5:10],
              f"{API}/articles/100/files?page=3&page_size=5": allf[10:]}
    m = _run(routes, RecordRef("figshare", FIGSHARE_API, "100", "Figshare"))
    assert [f.path for f in m.files] == [f"f{i:02d}" for i in range(12)] and m.warnings == ()


def test_versioned_article_pages_its_own_files_endpoint() -> None:
    """A ``.vN`` DOI (``100@2``) with more than ten files: the version's ``/files``, not the latest's."""
    allf = [ffile(i, f"f{i:02d}") for i in range(13)]
    doc = article(allf[:10], size=sum(f["size"] for f in allf))
    seen: list[str] = []
    m = _run({f"{API}/articles/100/versions/2": doc,
              f"{API}/articles/100/versions/2/files?page=1&page_size=1000": allf,
              f"{API}/articles/100/files?page=1&page_size=1000": allf[:2]},
             RecordRef("figshare", FIGSHARE_API, "100@2", "Figshare"), seen=seen)
    assert [f.path for f in m.files] == [f"f{i:02d}" for i in range(13)] and m.warnings == ()
    assert not any("/articles/100/files" in u for u in seen)


def test_versioned_article_without_a_files_endpoint_warns() -> None:
    doc = article([ffile(i, f"f{i}") for i in range(10)], size=999)
    m = _run({f"{API}/articles/100/versions/2": doc}, RecordRef("figshare", FIGSHARE_API, "100@2", "Figshare"))
    assert len(m.files) == 10 and "incomplete" in m.warnings[0]


@pytest.mark.parametrize("page_size_honoured", [True, False])
def test_files_endpoint_that_ignores_paging_cannot_loop(monkeypatch: pytest.MonkeyPatch,
                                                        page_size_honoured: bool) -> None:
    """FIG-36552: every page answered alike. The listing stops at the first repeat (two requests)."""
    monkeypatch.setattr(figshare, "PAGE_SIZE", 5)
    allf = [ffile(i, f"f{i:02d}") for i in range(12)]
    doc = article(allf[:10], size=sum(f["size"] for f in allf))
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if request.url.path.endswith("/files"):
            return httpx.Response(200, json=allf[:5] if page_size_honoured else allf)
        return httpx.Response(200, json=doc)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(RecordRef("figshare", FIGSHARE_API, "100", "Figshare"), _res("x"),
                                            Http(client, max_attempts=1))

    m = asyncio.run(go())
    assert len(calls) == 3  # the record, page 1, page 2 (a repeat): no third page
    assert [f.path for f in m.files] == [f"f{i:02d}" for i in range(5 if page_size_honoured else 12)]
    assert any("ignores paging" in w for w in m.warnings)
    assert any("incomplete" in w for w in m.warnings) is page_size_honoured


def test_figshare_files_carry_the_api_download_endpoint_as_mirror() -> None:
    files = [ffile(7, "a.txt"),
             {"id": 8, "name": "ext", "size": 0, "is_link_only": True, "download_url": "https://elsewhere.org/x"}]
    m = parse_article(article(files))
    got = {f.path: f.urls for f in m.files}
    assert got["a.txt"] == ("https://ndownloader.figshare.com/files/7", "https://api.figshare.com/v2/file/download/7")
    assert got["ext"] == ("https://elsewhere.org/x",)  # link-only: off-site, no mirror
    fourtu = parse_article(article([{"id": None, "uuid": "f-1", "name": "r.txt", "size": 3, "computed_md5": MD5,
                                     "download_url": "https://data.4tu.nl/file/ds/f-1"}]), FOURTU_API)
    assert fourtu.files[0].urls == ("https://data.4tu.nl/file/ds/f-1",)


def test_doi_lookup() -> None:
    routes = {f"{API}/articles?doi=10.1371/journal.pone.1": [{"id": 100, "title": "x"}], f"{API}/articles/100": article([ffile(1, "a")])}
    ref = RecordRef("figshare", FIGSHARE_API, "doi:10.1371/journal.pone.1", "Figshare")
    assert [f.path for f in _run(routes, ref, _res("https://figshare.com/x", "10.1371/journal.pone.1")).files] == ["a"]
    with pytest.raises(RecordNotFound):
        _run({f"{API}/articles?doi=10.1371/journal.pone.1": []}, ref)


def test_collection_lists_every_article_in_its_folder() -> None:
    routes = {f"{API}/collections/5550": {"id": 5550, "title": "Birds", "doi": "10.6084/m9.figshare.c.5550.v1",
                                          "published_date": "2021-01-01T00:00:00Z"},
              f"{API}/collections/5550/articles?page=1&page_size=1000": [
                  {"id": 1, "title": "Nests / eggs"}, {"id": 2, "title": "Nests / eggs"}, {"id": 3, "title": ""}],
              f"{API}/articles/1": article([ffile(11, "a.csv")], aid=1),
              f"{API}/articles/2": article([ffile(12, "a.csv")], aid=2),
              f"{API}/articles/3": article([ffile(13, "b.csv")], aid=3)}
    meta = Dataset(doi="10.6084/m9.figshare.c.5550.v1", publisher="figshare")
    m = _run(routes, RecordRef("figshare", FIGSHARE_API, "collection:5550", "Figshare"),
             _res("https://figshare.com/collections/Birds/5550", "10.6084/m9.figshare.c.5550.v1", meta))
    assert sorted(f.path for f in m.files) == ["3/b.csv", "Nests _ eggs (2)/a.csv", "Nests _ eggs/a.csv"]
    assert (m.dataset.title, m.dataset.resource_type, m.dataset.publisher) == ("Birds", "Collection", "figshare")


def test_4tu_uses_its_own_api() -> None:
    seen: list[str] = []
    _run({"https://data.4tu.nl/v2/articles/12689204/versions/1": article([ffile(1, "a")])},
         RecordRef("figshare", FOURTU_API, "12689204@1", "4TU.ResearchData"), seen=seen)
    assert seen == ["https://data.4tu.nl/v2/articles/12689204/versions/1"]


def test_missing_and_failing() -> None:
    with pytest.raises(RecordNotFound):
        _run({}, RecordRef("figshare", FIGSHARE_API, "1", "Figshare"))
    with pytest.raises(RepositoryError):
        _run({f"{API}/articles/1": {"message": "weird", "code": "X"}}, RecordRef("figshare", FIGSHARE_API, "1", "Figshare"))


def test_files_endpoint_missing_keeps_the_inline_list() -> None:
    doc = article([ffile(i, f"f{i}") for i in range(10)], size=10_000)
    m = _run({f"{API}/articles/100": doc}, RecordRef("figshare", FIGSHARE_API, "100", "Figshare"))
    assert len(m.files) == 10 and "incomplete" in m.warnings[0]


def test_unknown_item_type_on_a_figshare_host() -> None:
    ref = ADAPTER.recognize(_res("https://figshare.com/articles/hologram/Some_title/777/2"))
    assert ref is not None and ref.record_id == "777@2"
    assert ADAPTER.recognize(_res("https://example.org/articles/hologram/Some_title/777/2")) is None


def test_collection_member_gone_is_a_warning() -> None:
    routes = {f"{API}/collections/9/versions/2": {"id": 9, "title": "C"},
              f"{API}/collections/9/articles?page=1&page_size=1000": [{"id": 1, "title": "x"}, {"id": 2, "title": "y"}],
              f"{API}/articles/1": article([ffile(11, "a.csv")], aid=1)}
    m = _run(routes, RecordRef("figshare", FIGSHARE_API, "collection:9@2", "Figshare"))
    assert [f.path for f in m.files] == ["x/a.csv"]
    assert any("member 2 skipped" in w for w in m.warnings) and any("version 2" in w for w in m.warnings)


# --- against the sandbox (Figshare as it behaves in 2026) ------------------------------------------

def _landing(art: Any, version: int | None = None) -> str:
    return f"https://figshare.com/articles/dataset/{art.slug}/{art.id}" + (f"/{version}" if version else "")


def test_sandbox_versions_with_more_than_ten_files_list_every_file(net: Any) -> None:
    import doi2data
    from doi2data.sandbox.sites.figshare import INLINE_CAP, MANY

    for version in (1, None):  # version 1, and the latest (2)
        files = MANY.versions[(version or 2) - 1].files
        assert len(files) > INLINE_CAP
        m = doi2data.resolve(_landing(MANY, version))
        assert {f.path: f.checksums["md5"] for f in m.files} == {f.spec.key: net.world.digest(f.spec) for f in files}
        assert m.warnings == ()
    ref = ADAPTER.recognize(_res("https://doi.org/x", MANY.doi(1)))  # the .v1 DOI means version 1
    assert ref is not None and ref.record_id == f"{MANY.id}@1"
    paged = [r for r in net.log if r.host == "api.figshare.com" and r.path.endswith("/files")]
    assert {r.path for r in paged} == {f"/v2/articles/{MANY.id}/versions/1/files", f"/v2/articles/{MANY.id}/files"}


def test_sandbox_files_endpoint_ignoring_paging_ends(net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import doi2data
    from doi2data.sandbox.sites.figshare import UNPAGED

    monkeypatch.setattr(figshare, "PAGE_SIZE", 5)
    m = doi2data.resolve(_landing(UNPAGED))
    assert sorted(f.path for f in m.files) == sorted(f.spec.key for f in UNPAGED.versions[0].files)
    pages = [r for r in net.log if r.path == f"/v2/articles/{UNPAGED.id}/files"]
    assert len(pages) == 2 and any("ignores paging" in w for w in m.warnings)


def test_sandbox_bot_challenge_falls_over_to_the_api_download_endpoint(net: Any, tmp_path: Any) -> None:
    """ndownloader answers an empty 202 + ``x-amzn-waf-action: challenge``: the mirror gets the file,
    verified; a re-run moves nothing."""
    import doi2data
    from doi2data.sandbox.sites.figshare import MANY

    wanted = {f.spec.key: f for f in MANY.versions[-1].files[:2]}
    report = doi2data.download(_landing(MANY), tmp_path / "d", include=sorted(wanted))
    assert report.count("downloaded") == 2 and not report.failed
    for key, f in wanted.items():
        assert (tmp_path / "d" / key).read_bytes() == net.world.read(f.spec)
    challenged = [r for r in net.log if r.host == "ndownloader.figshare.com"]
    assert challenged and {r.status for r in challenged} == {202}
    mirror = [r for r in net.log if r.host == "api.figshare.com" and r.path.startswith("/v2/file/download/")]
    assert {r.status for r in mirror} == {302} and len(mirror) == 2
    assert all(any("challenge" in why for why in r.retries) for r in report.results)
    api_times = sorted(r.time for r in net.log if r.host == "api.figshare.com")  # one request per second
    assert len(api_times) >= 4 and all(b - a >= 0.9 for a, b in zip(api_times, api_times[1:]))
    net.clear_log()
    again = doi2data.download(_landing(MANY), tmp_path / "d", include=sorted(wanted))
    assert again.count("present") == 2 and not any(r.path.startswith("/v2/file/") for r in net.log)


def test_sandbox_www_ndownloader_is_always_challenged(net: Any) -> None:
    with httpx.Client() as client:
        r = client.get("https://figshare.com/ndownloader/files/40000021")
    assert (r.status_code, r.content, r.headers.get("x-amzn-waf-action")) == (202, b"", "challenge")


def test_sandbox_resume_through_the_mirror_next_run(net: Any, tmp_path: Any) -> None:
    """A large file broken off on the mirror is resumed from its part file by the next run (the
    challenged URL first, then the mirror: resume and verification as for any URL)."""
    import doi2data
    from doi2data.sandbox import Quirk
    from doi2data.sandbox.general import FIGSHARE_STORAGE
    from doi2data.sandbox.sites.figshare import MANY
    from doi2data.transfer.engine import TransferOptions

    big = next(f for f in MANY.versions[-1].files if f.spec.size > 500_000)
    net.add_quirk(Quirk(host=FIGSHARE_STORAGE, path=f"*/{big.id}/*", kind="reset", after_bytes=400_000, times=1))
    first = doi2data.download(_landing(MANY), tmp_path / "m", include=big.spec.key, raise_on_failure=False,
                              options=TransferOptions(max_attempts=2))
    assert list(first.failed) == [big.spec.key]
    net.clear_log()
    second = doi2data.download(_landing(MANY), tmp_path / "m", include=big.spec.key)
    assert second.count("downloaded") == 1
    assert (tmp_path / "m" / big.spec.key).read_bytes() == net.world.read(big.spec)
    stored = [r for r in net.log if r.host == FIGSHARE_STORAGE]
    assert len(stored) == 1 and stored[0].status == 206 and stored[0].headers["range"].startswith("bytes=400000-")
