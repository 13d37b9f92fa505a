"""Dataverse adapter: URL/PID forms, every dataset shape, ingested tabular files, access, versions, file PIDs."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from conftest import shared_dir

from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.dataverse import (ADAPTER, dataset_api_url, file_entry, parse_dataset, parse_file,
                                         version_labels, version_specifier, versions_api_url)
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError, UsageError
from doi2data.http import Http
from doi2data.model import Dataset, Manifest

B = "https://dataverse.example.org"
H = "https://dataverse.harvard.edu"
MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"


def _res(url: str, doi: str | None = None, meta: Dataset | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, meta)


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[str, Any], ref: RecordRef, resolved: Resolved, seen: list[str] | None = None) -> Manifest:
    table = {_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(str(request.url))
        body = table.get(_key(str(request.url)))
        if isinstance(body, int):
            return httpx.Response(body, json={"status": "ERROR", "message": "nope"})
        return httpx.Response(404, json={"status": "ERROR"}) if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(ref, resolved, Http(client, max_attempts=1))

    return asyncio.run(go())


def dfile(fid: int, label: str, size: int = 5, **extra: Any) -> dict[str, Any]:
    df: dict[str, Any] = {"id": fid, "filesize": size, "md5": MD5, "checksum": {"type": "MD5", "value": MD5},
                          "persistentId": f"doi:10.5072/FK2/ABC/F{fid}", "contentType": "text/plain"}
    raw = {"label": label, "restricted": False}
    for k, v in extra.items():
        (raw if k in ("directoryLabel", "restricted", "label") else df)[k] = v
    return {**raw, "dataFile": df}


def dataset(files: Any, **version: Any) -> dict[str, Any]:
    return {"status": "OK", "data": {
        "id": 7, "protocol": "doi", "authority": "10.5072", "identifier": "FK2/ABC", "publisher": "Ex",
        "publicationDate": "2020-01-01", "persistentUrl": "https://doi.org/10.5072/FK2/ABC",
        "latestVersion": {"versionNumber": 1, "versionMinorNumber": 0, "versionState": "RELEASED",
                          "license": {"name": "CC BY 4.0", "uri": "http://creativecommons.org/licenses/by/4.0"},
                          "metadataBlocks": {"citation": {"fields": [{"typeName": "title", "value": "T"}]}},
                          "files": files, **version}}}


# --- recognize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, doi, base, rid", [
    (f"{H}/citation?persistentId=doi:10.7910/DVN/RLMYMR", None, H, "doi:10.7910/DVN/RLMYMR"),
    (f"{H}/dataset.xhtml?persistentId=doi:10.7910/DVN/RLMYMR", None, H, "doi:10.7910/DVN/RLMYMR"),
    (f"{H}/dataset.xhtml?persistentId=doi:10.7910/DVN/RLMYMR&version=2.0", None, H, "doi:10.7910/DVN/RLMYMR@2.0"),
    (f"{H}/dataset.xhtml?persistentId=doi:10.7910/DVN/RLMYMR&version=DRAFT", None, H, "doi:10.7910/DVN/RLMYMR"),
    (f"{H}/file.xhtml?persistentId=doi:10.7910/DVN/RLMYMR/WNKD3W&version=2.0", None, H, "file:doi:10.7910/DVN/RLMYMR/WNKD3W"),
    (f"{H}/api/access/datafile/:persistentId?persistentId=doi:10.7910/DVN/RLMYMR/WNKD3W", None, H,
     "file:doi:10.7910/DVN/RLMYMR/WNKD3W"),
    (f"{H}/api/datasets/:persistentId/?persistentId=doi:10.7910/DVN/X", None, H, "doi:10.7910/DVN/X"),
    (f"{H}/api/v1/datasets/:persistentId/versions/:latest-published?persistentId=doi:10.7910/DVN/X", None, H,
     "doi:10.7910/DVN/X@:latest-published"),
    (f"{H}/api/datasets/3035124", None, H, "id:3035124"),
    ("https://dataverse.nl/citation?persistentId=doi:10.34894/FXUGHW", None, "https://dataverse.nl", "doi:10.34894/FXUGHW"),
    ("https://phys-techsciences.datastations.nl/dataset.xhtml?persistentId=doi:10.17026/dans-2ac-etd6", None,
     "https://phys-techsciences.datastations.nl", "doi:10.17026/dans-2ac-etd6"),
    ("https://datasets.iisg.amsterdam/dataset.xhtml?persistentId=hdl:10622/6IWVTB", None,
     "https://datasets.iisg.amsterdam", "hdl:10622/6IWVTB"),
    ("http://DV.Example.ORG:8080/dataset.xhtml?persistentId=doi:10.5072/FK2/ABC", None, "http://dv.example.org:8080",
     "doi:10.5072/FK2/ABC"),
    ("https://example.org/whatever", "10.7910/DVN/KBHLOD", H, "doi:10.7910/DVN/KBHLOD"),
    ("https://doi.org/10.34894/0B7ZLK", "10.34894/0B7ZLK", "https://dataverse.nl", "doi:10.34894/0B7ZLK"),
    ("https://example.org/x", "10.5683/SP2/ABCDEF", "https://borealisdata.ca", "doi:10.5683/SP2/ABCDEF"),
])
def test_recognize(url: str, doi: str | None, base: str, rid: str) -> None:
    ref = ADAPTER.recognize(_res(url, doi))
    assert ref is not None and (ref.adapter, ref.api_base, ref.record_id) == ("dataverse", base, rid)


@pytest.mark.parametrize("url, doi", [
    (f"{H}/dataverse/harvard", None), (f"{H}/dataset.xhtml", None), (f"{H}/dataset.xhtml?persistentId=banana", None),
    ("https://example.org/api/datasets/12", None), ("https://zenodo.org/records/12", "10.5281/zenodo.12"),
    ("https://figshare.com/articles/dataset/x/1", "10.6084/m9.figshare.1"), ("mailto:x@dataverse.org", None),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


def test_dataset_api_url() -> None:
    assert dataset_api_url(H, "doi:10.7910/DVN/X") == f"{H}/api/datasets/:persistentId/?persistentId=doi:10.7910/DVN/X"
    assert dataset_api_url(H, "doi:10.7910/DVN/X@2.0") == \
        f"{H}/api/datasets/:persistentId/versions/2.0?persistentId=doi:10.7910/DVN/X"
    assert dataset_api_url(H, "id:12") == f"{H}/api/datasets/12"
    assert dataset_api_url(H, "id:12@:latest") == f"{H}/api/datasets/12/versions/:latest"
    assert dataset_api_url(H, "hdl:1902.1/A B") == f"{H}/api/datasets/:persistentId/?persistentId=hdl:1902.1/A%20B"


# --- parsing ---------------------------------------------------------------------------------------

def test_plain_files_folders_and_metadata() -> None:
    m = parse_dataset(dataset([dfile(2, "b.txt"), dfile(1, "a.csv", directoryLabel="/raw/x/")]), B)
    assert [(f.path, f.size, f.url) for f in m.files] == [("b.txt", 5, f"{B}/api/access/datafile/2"),
                                                           ("raw/x/a.csv", 5, f"{B}/api/access/datafile/1")]
    ds = m.dataset
    assert (ds.doi, ds.title, ds.version, ds.license, ds.year, ds.record_id) == ("10.5072/FK2/ABC", "T", "1.0", "CC BY 4.0",
                                                                                  2020, "7")
    assert ds.landing_url == "https://doi.org/10.5072/FK2/ABC" and m.warnings == ()


def test_ingested_tabular_lists_the_original() -> None:
    tab = dfile(3, "survey.tab", 2321, originalFileFormat="application/x-stata", originalFileName="survey.dta",
                originalFileSize=9000, contentType="text/tab-separated-values")
    old = dfile(4, "sheet.tab", 100, originalFileFormat="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    odd = dfile(5, "weird.tab", 100, originalFileFormat="application/x-unknown")
    flagged = dfile(6, "flag.tab", 100, tabularData=True)
    files = {f.url: f for f in parse_dataset(dataset([tab, old, odd, flagged]), B).files}
    t = files[f"{B}/api/access/datafile/3?format=original"]
    assert (t.path, t.size, t.media_type, dict(t.checksums)) == ("survey.dta", 9000, "application/x-stata", {"md5": MD5})
    o = files[f"{B}/api/access/datafile/4?format=original"]
    assert (o.path, o.size) == ("sheet.xlsx", None) and "not reported" in (o.note or "")
    assert files[f"{B}/api/access/datafile/5?format=original"].path == "weird.tab"
    assert files[f"{B}/api/access/datafile/6?format=original"].path == "flag.tab"


@pytest.mark.parametrize("checksum, md5, expected", [
    ({"type": "SHA-1", "value": SHA1}, SHA1, {"sha1": SHA1}),  # old servers put the SHA-1 in "md5"
    ({"type": "SHA-256", "value": "AB" * 32}, None, {"sha256": "ab" * 32}),
    ({"type": "SHA-512", "value": "cd" * 64}, None, {"sha512": "cd" * 64}),
    ({"type": "MD5", "value": MD5}, MD5, {"md5": MD5}),
    ({"type": "UNF", "value": "UNF:6:xyz"}, None, {}),
    ({"type": "MD5", "value": "not-hex"}, None, {}),
    (None, MD5, {"md5": MD5}),
])
def test_checksum_types(checksum: Any, md5: Any, expected: dict[str, str]) -> None:
    raw = dfile(1, "a")
    raw["dataFile"].update(checksum=checksum, md5=md5)
    assert dict(file_entry(raw, B).checksums) == expected


def test_restricted_and_embargoed() -> None:
    files = [dfile(1, "open.txt"), dfile(2, "closed.txt", restricted=True),
             dfile(3, "later.txt", embargo={"dateAvailable": "2031-05-01", "reason": "paper"}),
             dfile(4, "lifted.txt", embargo={"dateAvailable": "2020-05-01"})]
    m = parse_dataset(dataset(files), B, today=date(2026, 1, 1))
    access = {f.path: (f.access, f.note) for f in m.files}
    assert access["open.txt"] == ("open", None) and access["lifted.txt"] == ("open", None)
    assert access["closed.txt"][0] == "restricted" and "token" in (access["closed.txt"][1] or "")
    assert access["later.txt"] == ("embargoed", "embargoed until 2031-05-01 (paper)")
    assert m.warnings == ("2 of 4 files are restricted or embargoed: download needs access",)


def test_version_shapes_draft_duplicates_and_legacy_datafile() -> None:
    version = {"data": {"versionNumber": 3, "versionMinorNumber": 1, "versionState": "DRAFT", "datasetId": 9,
                        "datasetPersistentId": "doi:10.5072/FK2/ABC", "files": [dfile(1, "a"), dfile(2, "a")]}}
    m = parse_dataset(version, B)
    assert m.dataset.version == "3.1" and m.dataset.doi == "10.5072/FK2/ABC" and m.dataset.record_id == "9"
    assert len(m.files) == 1 and any("DRAFT" in w for w in m.warnings) and any("duplicate" in w for w in m.warnings)
    legacy = {"data": {"versionNumber": 1, "files": [{"label": "x.java", "datafile": {"id": 19, "name": "x.java",
                                                                                       "md5": MD5}}]}}
    assert parse_dataset(legacy, B).files[0].path == "x.java"


def test_file_pid_filter() -> None:
    doc = dataset([dfile(1, "a"), dfile(2, "b")])
    m = parse_dataset(doc, B, file_pid="DOI:10.5072/fk2/abc/F2")
    assert [f.path for f in m.files] == ["b"]
    with pytest.raises(RecordNotFound):
        parse_dataset(doc, B, file_pid="doi:10.5072/FK2/ABC/NOPE")


@pytest.mark.parametrize("doc", [None, [], {"status": "ERROR", "message": "boom"}, {"data": []}, {"data": {"id": 1}},
                                 dataset("nope"), dataset([None]), dataset([{"label": "x"}]),
                                 dataset([{"label": "x", "dataFile": {"id": "abc"}}])])
def test_malformed(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_dataset(doc, B)


def test_parse_file_document() -> None:
    m = parse_file({"status": "OK", "data": dfile(9, "one.csv")}, B)
    assert [f.url for f in m.files] == [f"{B}/api/access/datafile/9"] and m.dataset.doi == "10.5072/FK2/ABC/F9"
    with pytest.raises(RepositoryError):
        parse_file({"status": "ERROR", "message": "x"}, B)


# --- list_files ------------------------------------------------------------------------------------

REF = RecordRef("dataverse", B, "doi:10.5072/FK2/ABC", "Example")
DS_URL = f"{B}/api/datasets/:persistentId/?persistentId=doi:10.5072/FK2/ABC"


def test_list_files_version_and_datacite_merge() -> None:
    seen: list[str] = []
    ref = RecordRef("dataverse", B, "doi:10.5072/FK2/ABC@1.0", "Example")
    meta = Dataset(doi="10.5072/FK2/ABC", title="DataCite", creators=("A, B",))
    m = _run({f"{B}/api/datasets/:persistentId/versions/1.0?persistentId=doi:10.5072/FK2/ABC": dataset([dfile(1, "a")])},
             ref, _res("x", "10.5072/fk2/abc", meta), seen)
    assert len(seen) == 1 and "/versions/1.0" in seen[0]
    assert (m.dataset.title, m.dataset.creators, m.dataset.doi, m.dataset.repository) == ("T", ("A, B",), "10.5072/fk2/abc",
                                                                                          "Example")


def test_list_files_file_pid_endpoint() -> None:
    ref = RecordRef("dataverse", B, "file:doi:10.5072/FK2/ABC/F2", "Example")
    url = f"{B}/api/files/:persistentId/?persistentId=doi:10.5072/FK2/ABC/F2"
    m = _run({url: {"status": "OK", "data": dfile(2, "b", restricted=True)}}, ref, _res("x"))
    assert [(f.path, f.access) for f in m.files] == [("b", "restricted")]


def test_list_files_file_pid_falls_back_to_parent_dataset() -> None:
    ref = RecordRef("dataverse", B, "file:doi:10.5072/FK2/ABC/F2", "Example")
    seen: list[str] = []
    m = _run({DS_URL: dataset([dfile(1, "a"), dfile(2, "b")])}, ref, _res("x"), seen)  # old server: no /api/files
    assert [f.path for f in m.files] == ["b"] and len(seen) == 2


def test_list_files_citation_pid_that_is_a_file() -> None:
    ref = RecordRef("dataverse", B, "doi:10.5072/FK2/ABC/F2", "Example")
    m = _run({f"{B}/api/files/:persistentId/?persistentId=doi:10.5072/FK2/ABC/F2": {"status": "OK", "data": dfile(2, "b")}},
             ref, _res(f"{B}/citation?persistentId=doi:10.5072/FK2/ABC/F2"))
    assert [f.path for f in m.files] == ["b"]


def test_list_files_missing_denied_and_failing() -> None:
    with pytest.raises(RecordNotFound):
        _run({}, REF, _res("x"))
    with pytest.raises(RecordNotFound):
        _run({}, RecordRef("dataverse", B, "file:doi:10.5072/NOPE", "Example"), _res("x"))
    with pytest.raises(AccessDenied):
        _run({DS_URL: 403}, REF, _res("x"))
    with pytest.raises(RepositoryError):
        _run({DS_URL: 500}, REF, _res("x"))


def test_list_files_by_database_id() -> None:
    m = _run({f"{B}/api/datasets/7": dataset([dfile(1, "a")])}, RecordRef("dataverse", B, "id:7", "Example"), _res("x"))
    assert [f.path for f in m.files] == ["a"]


@pytest.mark.parametrize(("given", "spec"), [
    ("1.0", "1.0"), ("2.1", "2.1"), ("v2.1", "2.1"), ("2", "2"), ("02.00", "2.0"), (":draft", ":draft"),
    ("draft", ":draft"), ("DRAFT", ":draft"), ("latest", ":latest-published"), (":latest", ":latest"),
    (":latest-published", ":latest-published")])
def test_version_specifier(given: str, spec: str) -> None:
    assert version_specifier(given) == spec


@pytest.mark.parametrize("bad", ["1.0.1", "one", ":newest", "1,0", "-1"])
def test_version_specifier_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        version_specifier(bad)


def test_version_labels_of_the_recorded_v6_listing() -> None:
    path = shared_dir() / "fixtures/recorded/dataverse/v6-datasets-78-versions-excludeFiles.json"
    if not path.exists():
        pytest.skip("recorded fixtures not available")
    assert version_labels(json.loads(path.read_text())) == ["1.1", "1.0"]
    assert version_labels({"data": [{"versionState": "DRAFT"}, {"versionNumber": 3}]}) == [":draft", "3.0"]
    assert versions_api_url(H, "doi:10.7910/DVN/X").endswith("persistentId=doi:10.7910/DVN/X&excludeFiles=true"
                                                              "&excludeMetadataBlocks=true")


def test_list_files_version_wins_and_a_missing_one_is_named() -> None:
    pid = "doi:10.5072/FK2/ABC"
    v1 = f"{B}/api/datasets/:persistentId/versions/1.0?persistentId={pid}"
    routes: dict[str, Any] = {v1: {"status": "OK", "data": {"versionNumber": 1, "versionMinorNumber": 0,
                                                             "versionState": "RELEASED", "files": [dfile(1, "a")]}},
                              f"{B}/api/datasets/:persistentId/versions?persistentId={pid}&excludeFiles=true"
                              f"&excludeMetadataBlocks=true": {"status": "OK", "data": [
                                  {"versionNumber": 2, "versionMinorNumber": 0}, {"versionNumber": 1,
                                                                                  "versionMinorNumber": 0}]}}
    ref = RecordRef("dataverse", B, f"{pid}@2.0", "Demo", version="1")
    m = _run(routes | {f"{B}/api/datasets/:persistentId/versions/1?persistentId={pid}": routes[v1]["data"]},
             ref, _res(B, "10.5072/FK2/ABC"))
    assert [f.path for f in m.files] == ["a"] and m.dataset.version == "1.0"
    with pytest.raises(RecordNotFound, match=r"no version 7\.0 \(available: 2\.0, 1\.0\)"):
        _run(routes, RecordRef("dataverse", B, pid, "Demo", version="7.0"), _res(B, "10.5072/FK2/ABC"))
