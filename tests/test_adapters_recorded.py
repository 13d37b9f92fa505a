"""Dataverse, Figshare, Dryad, OSF and B2SHARE parsers against real recorded responses.

The recordings are read in place from ``$DOI2DATA_SHARED`` or ``<repo>/../shared`` (never copied
into the repository); without them these tests skip. Expectations are recomputed from the raw JSON
independently of the parsers, so a parser bug cannot hide behind its own output. A few
``list_files`` runs replay the recorded documents through ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

from doi2data.adapters import b2share, dataverse, dryad, figshare, osf
from doi2data.adapters.base import Adapter, RecordRef, Resolved
from doi2data.errors import RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Manifest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DOI2DATA_SHARED") or REPO_ROOT.parent / "shared")
RECORDED = SHARED / "fixtures" / "recorded"
_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")


def _bodies(folder: str, pattern: str = "*.json") -> list[Path]:
    found = sorted((RECORDED / folder).glob(pattern)) if (RECORDED / folder).is_dir() else []
    return [p for p in found if not p.name.endswith(".headers.json")]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _headers(name: str) -> dict[str, Any]:
    return _load(RECORDED / name) if (RECORDED / name).is_file() else {}


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


needs = pytest.mark.skipif(not RECORDED.is_dir(), reason=f"recorded fixtures not found at {RECORDED}")


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path).rstrip("/"), tuple(sorted(parse_qsl(u.query.decode(), keep_blank_values=True)))


def _replay(adapter: Adapter, routes: dict[str, Any], ref: RecordRef, resolved: Resolved) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        body = table.get(_key(str(request.url)))
        return httpx.Response(404, json={"status": 404}) if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await adapter.list_files(ref, resolved, Http(client, max_attempts=1))

    return asyncio.run(go())


def _resolved(url: str, doi: str | None = None) -> Resolved:
    return Resolved(identifier=doi or url, doi=doi, landing_url=url, metadata=None)


def _datacite_url(name: str) -> tuple[str, str]:
    attrs = _load(RECORDED / "datacite" / name)["data"]["attributes"]
    return attrs["url"], attrs["doi"]


def _assert_urls(manifest: Manifest) -> None:
    for f in manifest.files:
        assert f.urls and all(_URL.match(u) for u in f.urls), f


# --- Dataverse -------------------------------------------------------------------------------------

DV = "https://dataverse.harvard.edu"
DV_DATASETS = [p for p in _bodies("dataverse") if p.name.startswith(("dataset-", "datasets-", "v4.0-", "v6-export"))]


def _dv_version(raw: dict[str, Any]) -> dict[str, Any]:
    data = raw.get("data", raw)
    return data.get("latestVersion") or data.get("datasetVersion") or data


@needs
def test_dataverse_fixtures_present() -> None:
    assert len(DV_DATASETS) >= 8


@needs
@pytest.mark.parametrize("path", DV_DATASETS, ids=_ids(DV_DATASETS))
def test_dataverse_dataset_files(path: Path) -> None:
    raw = _load(path)
    manifest = dataverse.parse_dataset(raw, DV)
    expected = {}
    for item in _dv_version(raw)["files"]:
        df = item.get("dataFile") or item["datafile"]
        folder = item.get("directoryLabel")
        ingested = bool(df.get("originalFileFormat")) or df.get("tabularData") is True
        if ingested and df.get("originalFileName"):
            name, size = df["originalFileName"], df.get("originalFileSize")
        elif ingested:
            name, size = None, df.get("originalFileSize")  # 2018: the server does not say; checked below
        else:
            name, size = item.get("label") or df["name"], df.get("filesize")
        checksum = df.get("checksum", {}).get("value") or df.get("md5")
        url = f"{DV}/api/access/datafile/{df['id']}" + ("?format=original" if ingested else "")
        expected[url] = (f"{folder}/{name}" if folder and name else name, size, checksum.lower(),
                         "restricted" if item.get("restricted") else "open")
    got = {f.urls[0]: (f.path if expected[f.urls[0]][0] else None, f.size, f.checksums.get("md5"), f.access)
           for f in manifest.files}
    assert len(manifest.files) == len(_dv_version(raw)["files"])
    assert got == expected
    _assert_urls(manifest)
    assert manifest.dataset.title and manifest.dataset.creators


@needs
def test_dataverse_ingested_original_is_listed_not_the_tab() -> None:
    """RLMYMR: the .tab is 2321 bytes, the plain access URL serves 2408 other bytes; only the original matches md5."""
    for year, size in (("2018", None), ("2022", 700840)):
        manifest = dataverse.parse_dataset(_load(RECORDED / f"dataverse/dataset-persistentId-doi-10.7910_DVN_RLMYMR-{year}.json"), DV)
        tab = next(f for f in manifest.files if "3315157" in f.urls[0])
        assert tab.path == "Karnataka_DD&FS_Data-1.xlsx" and tab.size == size
        assert tab.urls == (f"{DV}/api/access/datafile/3315157?format=original",)
        assert tab.checksums == {"md5": "ca9dea905295ac52db4ea3c7c8bf00e9"}
        assert tab.note and "original" in tab.note
    served = (RECORDED / "dataverse/access-datafile-3315157-tab.tsv").read_bytes()
    assert len(served) == 2408 and hashlib.md5(served).hexdigest() != "ca9dea905295ac52db4ea3c7c8bf00e9"


@needs
def test_dataverse_restricted_file_in_v6_export() -> None:
    manifest = dataverse.parse_dataset(_load(RECORDED / "dataverse/v6-export-dataverse_json-doi-10.21068_CTQ20N-restricted-file.json"),
                                       "https://biocultural.humboldt.org.co")
    access = {f.path: f.access for f in manifest.files}
    assert access == {"Plantilla de Actores Estratégicos ZAP1 Anonimizado.xlsx": "open",
                      "Plantilla de Actores Estratégicos ZAP1.xlsx": "restricted"}
    assert manifest.dataset.doi == "10.21068/CTQ20N" and any("restricted" in w for w in manifest.warnings)


@needs
@pytest.mark.parametrize("name", ["v6-datasets-78-versions-excludeFiles.json", "search-filePersistentId-WNKD3W-2022.json",
                                  "installations-data.json", "demo-info-version-2021.json"])
def test_dataverse_non_dataset_documents_are_repository_errors(name: str) -> None:
    with pytest.raises(RepositoryError):
        dataverse.parse_dataset(_load(RECORDED / "dataverse" / name), DV)


@needs
def test_dataverse_recorded_urls_are_recognised() -> None:
    citation = _headers("dataverse/redirect-HEAD-citation-persistentId-RLMYMR.headers.json")
    urls = [citation["request"]["uri"], citation["headers"]["Location"][0],
            _headers("doi.org/redirect-HEAD-10.7910_dvn_eqtqyo-303-2017.headers.json")["headers"]["Location"][0]]
    urls += [_datacite_url(n)[0] for n in ("dois-10.7910_dvn_eqtqyo-include-media-client.json",
                                            "dois-10.7910_dvn_nj7xso-include-media-client-2026.json")]
    for url in urls:
        ref = dataverse.ADAPTER.recognize(_resolved(url))
        assert ref is not None and ref.api_base == DV and ref.record_id.lower().startswith("doi:10.7910/dvn/"), url
    for path in _bodies("dataverse", "dataset-persistentId-*.json"):  # our API URL is the one recorded
        uri = _headers(f"dataverse/{path.name}.headers.json").get("request", {}).get("uri")
        if uri is None:
            continue
        ref = dataverse.ADAPTER.recognize(_resolved(uri))
        assert ref is not None and _key(dataverse.dataset_api_url(DV, ref.record_id)) == _key(uri)


@needs
def test_dataverse_list_files_replay() -> None:
    doc = _load(RECORDED / "dataverse/dataset-persistentId-doi-10.7910_DVN_Q5PV4U-2022.json")
    ref = RecordRef("dataverse", DV, "doi:10.7910/DVN/Q5PV4U", "Harvard Dataverse")
    manifest = _replay(dataverse.ADAPTER, {dataverse.dataset_api_url(DV, ref.record_id): doc}, ref,
                       _resolved(f"{DV}/citation?persistentId=doi:10.7910/DVN/Q5PV4U", "10.7910/DVN/Q5PV4U"))
    assert len(manifest.files) == 8 and "Source Data/Source Data.zip" in {f.path for f in manifest.files}
    assert manifest.total_size == sum(f["dataFile"]["filesize"] for f in doc["data"]["latestVersion"]["files"])


# --- Figshare --------------------------------------------------------------------------------------

FS_ARTICLES = _bodies("figshare", "*article-*.json")


@needs
@pytest.mark.parametrize("path", FS_ARTICLES, ids=_ids(FS_ARTICLES))
def test_figshare_article_files(path: Path) -> None:
    raw = _load(path)
    manifest = figshare.parse_article(raw)
    expected = {f["name"]: (f["size"], f["computed_md5"], f["download_url"]) for f in raw["files"]}
    got = {f.path: (f.size, f.checksums.get("md5"), f.url) for f in manifest.files}
    assert len(manifest.files) == len(raw["files"]) and got == expected
    assert manifest.dataset.record_id == str(raw["id"]) and manifest.dataset.title
    _assert_urls(manifest)


@needs
def test_figshare_non_figshare_doi_is_kept() -> None:
    """plos.figshare.com article 123456 carries the journal's Crossref DOI."""
    assert figshare.parse_article(_load(RECORDED / "figshare/article-123456-public.json")).dataset.doi == \
        "10.1371/journal.pone.0039704"


@needs
def test_figshare_recorded_urls_are_recognised() -> None:
    cases = [(*_datacite_url("dois-10.6084_m9.figshare.1286826.v1-include-media-client.json"), "1286826@1"),
             (*_datacite_url("dois-10.6084_m9.figshare.1449060-include-media-client-2026.json"), "1449060"),
             (*_datacite_url("dois-10.6084_m9.figshare.4234751.v1-include-media-client.json"), "4234751@1"),
             (_headers("doi.org/redirect-HEAD-10.6084_m9.figshare.4234751.v1-303-2017.headers.json")["headers"]["Location"][0],
              None, "4234751@1")]
    for url, doi, record in cases:
        ref = figshare.ADAPTER.recognize(_resolved(url, doi))
        assert ref is not None and (ref.api_base, ref.record_id) == (figshare.FIGSHARE_API, record), url
    url, doi = _datacite_url("dois-10.4121_uuid_3926db30-include-media-client.json")
    ref = figshare.ADAPTER.recognize(_resolved(url, doi))  # legacy uuid DOI: the landing page's id wins
    assert ref is not None and (ref.api_base, ref.record_id, ref.repository) == (figshare.FOURTU_API, "12689204@1",
                                                                                 "4TU.ResearchData")


@needs
def test_figshare_doi_lookup_replay() -> None:
    article = _load(RECORDED / "figshare/article-14763051-public.json")
    routes = {"https://api.figshare.com/v2/articles?doi=10.6084/m9.figshare.14763051.v1":
              _load(RECORDED / "figshare/articles-search-by-doi-14763051.json"),
              "https://api.figshare.com/v2/articles/14763051": article}
    ref = RecordRef("figshare", figshare.FIGSHARE_API, "doi:10.6084/m9.figshare.14763051.v1", "Figshare")
    manifest = _replay(figshare.ADAPTER, routes, ref, _resolved("https://figshare.com/x", "10.6084/m9.figshare.14763051.v1"))
    assert {f.path: f.checksums["md5"] for f in manifest.files} == {
        "tiny-data.txt": "70e2afd3fd7e336ae478b1e740a5f08e", "store.zip": "7008231125631739b64720d1526619ae"}


# --- Dryad -----------------------------------------------------------------------------------------

@needs
def test_dryad_docs_examples() -> None:
    ds, files_url = dryad.parse_dataset(_load(RECORDED / "dryad/docs-example-dataset.json"))
    assert files_url == "https://datadryad.org/api/v2/versions/231/files"
    assert ds.doi == "10.5072/FK2708471V" and ds.creators == ("Fisher, Scott", "Moraga, Norah")
    raw = _load(RECORDED / "dryad/docs-example-version-files.json")
    entries, nxt, deleted = dryad.parse_files_page(raw)
    assert (nxt, deleted) == (None, 0)
    expected = {f["path"]: (f["size"], f["_links"]["stash:download"]["href"]) for f in raw["_embedded"]["stash:files"]}
    assert {e.path: (e.size, e.urls[0].removeprefix(dryad.DRYAD)) for e in entries} == expected
    for entry, f in zip(entries, raw["_embedded"]["stash:files"], strict=True):  # placeholder digests are not trusted
        valid = bool(re.fullmatch(r"[0-9a-f]{32}", f.get("digest", "")))
        assert bool(entry.checksums) == valid


@needs
def test_dryad_dataset_list_entries() -> None:
    raw = _load(RECORDED / "dryad/datasets-list-page1-2020.json")
    items = raw["_embedded"]["stash:datasets"]
    for item in items:
        ds, files_url = dryad.parse_dataset(item)
        assert files_url == dryad.DRYAD + item["_links"]["stash:version"]["href"] + "/files"
        assert ds.doi == item["identifier"].removeprefix("doi:") and ds.title == item["title"]
        ref = dryad.ADAPTER.recognize(_resolved(f"https://datadryad.org/stash/dataset/{item['identifier']}"))
        assert ref is not None and ref.record_id == ds.doi
        assert _key(dryad.dataset_url(dryad.DRYAD, ref.record_id)) == _key(dryad.DRYAD + item["_links"]["self"]["href"])
    assert len(items) == raw["count"]


@needs
def test_dryad_datacite_urls_are_recognised() -> None:
    for year in ("2021", "2025", "2026"):
        url, doi = _datacite_url(f"dois-10.5061_dryad.8515-include-media-client-{year}.json")
        for pair in ((url, doi), (url, None)):
            ref = dryad.ADAPTER.recognize(_resolved(*pair))
            assert ref is not None and ref.record_id == "10.5061/dryad.8515", url


@needs
def test_dryad_list_files_replay() -> None:
    doc = _load(RECORDED / "dryad/docs-example-dataset.json")
    routes = {dryad.dataset_url(dryad.DRYAD, "10.5072/FK2708471V"): doc,
              "https://datadryad.org/api/v2/versions/231/files": _load(RECORDED / "dryad/docs-example-version-files.json")}
    ref = RecordRef("dryad", dryad.DRYAD, "10.5072/FK2708471V", "Dryad")
    manifest = _replay(dryad.ADAPTER, routes, ref, _resolved("https://datadryad.org/dataset/doi:10.5072/FK2708471V"))
    assert [f.path for f in manifest.files] == ["I0006475A.jpg", "admin_editing2.jpg"]
    assert manifest.total_size == 218594 + 185621


# --- OSF -------------------------------------------------------------------------------------------

OSF_LISTINGS = _bodies("osf", "*files*.json")


@needs
@pytest.mark.parametrize("path", OSF_LISTINGS, ids=_ids(OSF_LISTINGS))
def test_osf_listing_pages(path: Path) -> None:
    raw = _load(path)
    listing = osf.parse_listing(raw)
    items = raw["data"] if isinstance(raw["data"], list) else [raw["data"]]
    files = [i for i in items if i["attributes"]["kind"] == "file"]
    folders = [i for i in items if i["attributes"]["kind"] == "folder"]
    got = {e.path: (e.size, dict(e.checksums), e.url) for _, e in listing.files}
    assert got == {i["attributes"]["materialized_path"].strip("/"): (
        i["attributes"]["size"], {k: v for k, v in i["attributes"]["extra"]["hashes"].items() if v}, i["links"]["download"])
        for i in files}
    assert [u for _, u in listing.folders] == [i["relationships"]["files"]["links"]["related"]["href"] for i in folders]
    for (_, entry), item in zip(listing.files, files, strict=True):  # WaterButler's own URL as the mirror
        assert entry.urls == (item["links"]["download"], item["links"]["upload"])
    assert listing.next == (raw.get("links") or {}).get("next")


@needs
def test_osf_nodes_and_non_file_listings() -> None:
    ds, files_url = osf.parse_node(_load(RECORDED / "osf/nodes-y8t6r.json"))
    assert (ds.title, ds.record_id, files_url) == ("osfr-testthat-project", "y8t6r", "https://api.test.osf.io/v2/nodes/y8t6r/files/")
    with pytest.raises(RepositoryError):  # a list of child nodes is not a file listing
        osf.parse_listing(_load(RECORDED / "osf/nodes-4fjxr-children-page1.json"))
    ref = osf.ADAPTER.recognize(_resolved(ds.landing_url or ""))
    assert ref is not None and (ref.api_base, ref.record_id) == ("https://api.test.osf.io", "y8t6r")


@needs
def test_osf_list_files_replay_follows_pages_and_folders() -> None:
    api = "https://api.test.osf.io/v2/nodes/y8t6r/files"
    root = f"{api}/osfstorage/"
    many = f"{api}/osfstorage/5d4ef2104e90e100146f7e53/"
    page2 = copy.deepcopy(_load(RECORDED / "osf/nodes-y8t6r-files-osfstorage-folder-page2.json"))
    page2["links"]["next"] = None  # pages 3-4 were not recorded: stop after the two that were
    providers = {"data": [{"type": "files", "attributes": {"kind": "folder", "name": "osfstorage", "provider": "osfstorage"},
                           "relationships": {"files": {"links": {"related": {"href": root}}}}}], "links": {"next": None}}
    routes = {"https://api.test.osf.io/v2/nodes/y8t6r/": _load(RECORDED / "osf/nodes-y8t6r.json"),
              f"{api}/?page[size]=100": providers,
              f"{root}?page[size]=100": _load(RECORDED / "osf/nodes-y8t6r-files-osfstorage-root-page1.json"),
              f"{many}?page[size]=100": _load(RECORDED / "osf/nodes-y8t6r-files-osfstorage-folder-page1.json"),
              f"{many}?page=2": page2,
              f"{api}/osfstorage/5d4f01fb4fb5130014d6754d/?page[size]=100": {"data": [], "links": {"next": None}}}
    ref = RecordRef("osf", "https://api.test.osf.io", "y8t6r", "OSF")
    manifest = _replay(osf.ADAPTER, routes, ref, _resolved("https://test.osf.io/y8t6r/"))
    paths = [f.path for f in manifest.files]
    assert len(paths) == 21 and "image-file-01.pdf" in paths
    assert [p for p in paths if p.startswith("many-files/")] == [f"many-files/text-file-{i:02d}.txt" for i in range(1, 21)]
    assert all(f.checksums.keys() == {"md5", "sha256"} for f in manifest.files)


# --- B2SHARE ---------------------------------------------------------------------------------------

B2_RECORDS = [p for p in _bodies("b2share", "record-*") if not p.name.endswith(".headers.json")]
TRNG = "https://trng-b2share.eudat.eu"


def _b2_load(path: Path) -> Any:
    """The training transcript elided one array as ``...``; drop the ellipsis to read the rest."""
    return json.loads(path.read_text(encoding="utf-8").replace("...", ""))


@needs
@pytest.mark.parametrize("path", B2_RECORDS, ids=_ids(B2_RECORDS))
def test_b2share_records(path: Path) -> None:
    raw = _b2_load(path)
    manifest = b2share.parse_record(raw, TRNG)
    expected = {f["key"]: (f["size"], f["checksum"].split(":", 1)[1],
                           (f"{TRNG}/api/files/{f['bucket']}/{f['key']}", f["ePIC_PID"])) for f in raw.get("files", [])}
    assert {f.path: (f.size, f.checksums["md5"], f.urls) for f in manifest.files} == expected
    assert manifest.dataset.record_id == raw["id"] and manifest.dataset.title == raw["metadata"]["titles"][0]["title"]
    assert b2share.bucket_link(raw, TRNG) == (None if "files" in raw else raw["links"]["files"])


@needs
def test_b2share_bucket_and_404() -> None:
    raw = _load(RECORDED / "b2share/files-bucket-0163d244-5845-40ca-899c-d1d0025f68aa.json")
    manifest = b2share.parse_record(raw, TRNG)
    assert {f.path: (f.size, f.checksums["md5"], f.url) for f in manifest.files} == {
        c["key"]: (c["size"], c["checksum"][4:], c["links"]["self"]) for c in raw["contents"]}
    with pytest.raises(RecordNotFound):
        b2share.parse_record(_load(RECORDED / "b2share/records-404-pid-does-not-exist.json"), TRNG)


@needs
def test_b2share_list_files_replay_reads_the_bucket() -> None:
    record = _load(RECORDED / "b2share/record-b43a0e6914e34de8bd19613bcdc0d364-published.json")
    bucket = _load(RECORDED / "b2share/files-bucket-0163d244-5845-40ca-899c-d1d0025f68aa.json")
    rid = record["id"]
    routes = {f"{TRNG}/api/records/{rid}": record, record["links"]["files"]: bucket}
    ref = b2share.ADAPTER.recognize(_resolved(f"{TRNG}/records/{rid}"))
    assert ref is not None
    manifest = _replay(b2share.ADAPTER, routes, ref, _resolved(f"{TRNG}/records/{rid}"))
    assert [f.path for f in manifest.files] == ["sequence.txt", "sequence2.txt"]
    assert manifest.dataset.doi == f"10.5072/b2share.{rid}" and manifest.dataset.license == "MIT"


@needs
@pytest.mark.parametrize("adapter, folder", [(dataverse.ADAPTER, "dataverse"), (figshare.ADAPTER, "figshare"),
                                             (dryad.ADAPTER, "dryad"), (osf.ADAPTER, "osf"), (b2share.ADAPTER, "b2share")])
def test_other_repositories_datacite_urls_are_not_claimed(adapter: Adapter, folder: str) -> None:
    """Every recorded DataCite landing URL is claimed by at most its own repository's adapter."""
    owners: dict[str, Callable[[str], bool]] = {
        "dataverse": lambda u: "dataverse" in u, "figshare": lambda u: "figshare" in u or "4tu" in u,
        "dryad": lambda u: "dryad" in u, "osf": lambda u: "osf.io" in u, "b2share": lambda u: "b2share" in u}
    for path in _bodies("datacite", "dois-10.*.json"):
        url, doi = _datacite_url(path.name)
        if not owners[folder](url.lower()):
            assert adapter.recognize(_resolved(url, doi)) is None, (folder, url)
