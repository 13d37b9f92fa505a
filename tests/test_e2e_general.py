"""End to end through the emulated general-purpose repositories: Dataverse, Figshare/4TU, Dryad, OSF, B2SHARE.

Every test runs the real client (CLI subprocess or Python API) against the fake internet and checks
what arrived against the world's generator (``net.world.read``/``digest``). The datasets are
declared in :mod:`doi2data.sandbox.general`; the wire formats in ``sandbox/sites/<service>.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

import doi2data
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError, UsageError, VersionNotSupported
from doi2data.sandbox import FakeInternet, FileSpec, Quirk
from doi2data.sandbox.general import (B2_BUCKET_ONLY, B2_CLOSED, B2_OPEN, DATAVERSE_TOKEN, DRYAD_DATASET,
                                      DRYAD_STORAGE, DVN_STORAGE, FIGSHARE_STORAGE, FOURTU, HARVARD, HARVARD_DATASET,
                                      HARVARD_FILE_DOI, OCEAN, OCEAN_COLLECTION, OSF_NODE, TIDES, UNKNOWN_DATAVERSE,
                                      UNKNOWN_DV_DATASET, DvFile)

HV = HARVARD_DATASET
TOKEN_SPEC = f"{HARVARD}=X-Dataverse-key:{DATAVERSE_TOKEN}"
ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


def files_under(dest: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes()
            for p in dest.rglob("*") if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


def ls_json(cli: Any, identifier: str, *extra: str) -> dict[str, Any]:
    run = cli("ls", identifier, "--json", *extra)
    assert run.code == 0, run.err
    doc: dict[str, Any] = json.loads(run.out)
    return doc


def by_path(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in doc["files"]}


def assert_bytes(net: FakeInternet, got: dict[str, bytes], specs: dict[str, FileSpec]) -> None:
    assert set(got) == set(specs)
    for path, data in got.items():
        assert data == net.world.read(specs[path]), path


def requests_to(net: FakeInternet, host: str, path: str = "") -> list[Any]:
    return [r for r in net.log if r.host == host and r.path.startswith(path)]


def dv_expected(net: FakeInternet, f: DvFile) -> tuple[int, dict[str, str]]:
    algo = ALGORITHMS[f.checksum]
    return f.spec.size, {algo: net.world.digest(f.spec, algo)}


# -- Dataverse -------------------------------------------------------------------------------------
def test_dataverse_ls_json_sizes_checksums_folders_access(cli: Any, net: FakeInternet) -> None:
    doc = ls_json(cli, HV.doi)
    files = by_path(doc)
    latest = {f.spec.key: f for f in HV.latest.files}
    assert set(files) == set(latest)
    assert doc["repository"] == "Harvard Dataverse" and doc["dataset"]["version"] == "2.0"
    for path, f in latest.items():
        assert (files[path]["size"], files[path]["checksums"]) == dv_expected(net, f), path
        assert files[path]["access"] == ("restricted" if f.restricted else "open")
    assert {f.checksum for f in latest.values()} >= {"MD5", "SHA-1", "SHA-256"}
    tab = files["data/survey_2019.csv"]  # listed as the original upload, not survey_2019.tab
    assert tab["url"].endswith("?format=original") and "tabular" in tab["note"]
    assert "images/maps/region_map.tif" in files  # directoryLabel "images/maps"


def test_dataverse_get_redirects_to_storage_and_skips_restricted(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    run = cli("get", HV.doi, "dv", "-q")
    assert run.code == 0, run.err
    assert "respondents_raw.dat" in run.err and "restricted" in run.err
    open_files = {f.spec.key: f.spec for f in HV.latest.files if not f.restricted}
    assert_bytes(net, files_under(tmp_path / "dv"), open_files)
    api = requests_to(net, HARVARD, "/api/access/datafile/")
    assert api and {r.status for r in api} == {303}
    assert not any(r.path.endswith("/9000123") for r in api)  # the restricted file was not even tried
    assert any(r.query == "format=original" for r in api)
    assert {r.status for r in requests_to(net, DVN_STORAGE)} == {200}


def test_dataverse_tabular_plain_download_is_not_the_original(net: FakeInternet) -> None:
    f = next(x for x in HV.latest.files if x.tabular)
    url = f"https://{HARVARD}/api/access/datafile/{f.id}"
    with httpx.Client(follow_redirects=True) as client:
        plain, original = client.get(url), client.get(url, params={"format": "original"})
        meta = client.get(f"https://{HARVARD}/api/files/:persistentId/", params={"persistentId": f"doi:{f.pid}"})
    df = meta.json()["data"]["dataFile"]
    assert meta.json()["data"]["label"] == "survey_2019.tab" and df["originalFileName"] == "survey_2019.csv"
    assert plain.status_code == original.status_code == 200
    assert original.content == net.world.read(f.spec) and hashlib.md5(original.content).hexdigest() == df["md5"]
    assert hashlib.md5(plain.content).hexdigest() != df["md5"]
    assert len(plain.content) not in (df["filesize"], df["originalFileSize"])  # a header row is added
    assert plain.headers["content-type"].startswith("text/tab-separated-values")


def test_dataverse_version_landing_url_and_file_doi(net: FakeInternet, tmp_path: Path) -> None:
    v1 = HV.versions[0]
    manifest = doi2data.resolve(f"https://{HARVARD}/dataset.xhtml?persistentId=doi:{HV.doi}&version=1.0")
    assert {f.path: (f.size, dict(f.checksums)) for f in manifest.files} == {
        f.spec.key: dv_expected(net, f) for f in v1.files}
    assert any(r.path == "/api/datasets/:persistentId/versions/1.0" for r in requests_to(net, HARVARD))
    one = doi2data.resolve(HARVARD_FILE_DOI)
    assert [f.path for f in one.files] == ["docs/codebook.pdf"]
    report = doi2data.download(HARVARD_FILE_DOI, tmp_path / "one")
    assert report.count("downloaded") == 1
    assert (tmp_path / "one/docs/codebook.pdf").read_bytes() == net.world.read(
        next(f.spec for f in v1.files if f.pid == HARVARD_FILE_DOI))


def test_dataverse_restricted_file_with_token_never_leaks_to_storage(net: FakeInternet, tmp_path: Path) -> None:
    secret = next(f for f in HV.latest.files if f.restricted)
    url = f"https://{HARVARD}/api/access/datafile/{secret.id}"
    with httpx.Client() as client:
        denied = client.get(url)
    assert denied.status_code == 403 and denied.json()["status"] == "ERROR"
    manifest = doi2data.resolve(HV.doi, tokens=[TOKEN_SPEC])
    # The engine only fetches open entries: grant access the way a token holder sees it.
    granted = manifest.with_files(replace(f, access="open", note=None) if f.path == secret.spec.key else f
                                  for f in manifest.files)
    net.clear_log()
    report = doi2data.download(granted, tmp_path / "t", include=secret.spec.key, tokens=[TOKEN_SPEC])
    assert report.count("downloaded") == 1
    assert (tmp_path / "t" / secret.spec.key).read_bytes() == net.world.read(secret.spec)
    api = requests_to(net, HARVARD, f"/api/access/datafile/{secret.id}")
    assert api and all(r.headers.get("x-dataverse-key") == DATAVERSE_TOKEN and r.status == 303 for r in api)
    storage = requests_to(net, DVN_STORAGE)
    assert storage and all(r.status in (200, 206) for r in storage)
    for r in storage:
        assert "x-dataverse-key" not in r.headers and DATAVERSE_TOKEN not in json.dumps(r.headers) + r.query


def test_dataverse_restricted_file_fetched_with_token_cli(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    secret = next(f for f in HV.latest.files if f.restricted)
    run = cli("get", HV.doi, "tok", "-q", "--include", secret.spec.key, "--token", TOKEN_SPEC)
    assert run.code == 0, run.err
    assert (tmp_path / "tok" / secret.spec.key).read_bytes() == net.world.read(secret.spec)


def test_dataverse_on_a_host_no_table_knows(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    ds = UNKNOWN_DV_DATASET
    doc = ls_json(cli, ds.doi)
    files = by_path(doc)
    assert {p: (f["size"], f["checksums"]) for p, f in files.items()} == {
        f.spec.key: dv_expected(net, f) for f in ds.latest.files}
    assert "sha512" in files["measurements/run_01.h5"]["checksums"]
    run = cli("get", ds.doi, "ui", "-q")
    assert run.code == 0, run.err
    assert_bytes(net, files_under(tmp_path / "ui"), {f.spec.key: f.spec for f in ds.latest.files})
    served = requests_to(net, UNKNOWN_DATAVERSE, "/api/access/datafile/")
    assert served and {r.status for r in served} == {200}  # this installation serves bytes itself
    with httpx.Client() as client:
        info = client.get(f"https://{UNKNOWN_DATAVERSE}/api/info/version").json()
    assert info["status"] == "OK" and info["data"]["version"]


# -- Figshare and 4TU ------------------------------------------------------------------------------
def test_figshare_latest_version_folders_and_link_only(cli: Any, net: FakeInternet) -> None:
    doc = ls_json(cli, OCEAN.doi())
    files = by_path(doc)
    latest = OCEAN.versions[-1]
    assert set(files) == {f.spec.key for f in latest.files}
    for f in latest.files:
        got = files[f.spec.key]
        if f.link:
            assert got["size"] is None and got["checksums"] == {} and "link-only" in got["note"]
            assert got["url"] == f.link
        else:
            assert (got["size"], got["checksums"]) == (f.spec.size, {"md5": net.world.digest(f.spec)})
    assert "raw/2019/ctd_cast_01.csv" in files  # folder_structure


def test_figshare_link_only_file_is_not_saved_as_data(net: FakeInternet, tmp_path: Path) -> None:
    report = doi2data.download(OCEAN.doi(), tmp_path / "lo", include="full_archive.tar", raise_on_failure=False)
    assert [r.status for r in report.results] == ["skipped"]
    assert not (tmp_path / "lo/full_archive.tar").exists()


def test_figshare_versioned_doi_and_download_via_signed_redirect(net: FakeInternet, tmp_path: Path) -> None:
    v1 = OCEAN.versions[0]
    report = doi2data.download(OCEAN.doi(1), tmp_path / "v1")
    assert report.count("downloaded") == len(v1.files)
    assert_bytes(net, files_under(tmp_path / "v1"), {f.spec.key: f.spec for f in v1.files})
    assert any(r.path == f"/v2/articles/{OCEAN.id}/versions/1" for r in requests_to(net, "api.figshare.com"))
    assert {r.status for r in requests_to(net, "ndownloader.figshare.com")} == {302}
    assert {r.status for r in requests_to(net, FIGSHARE_STORAGE)} == {200}
    v2 = OCEAN.versions[-1]
    doi2data.download(OCEAN.doi(), tmp_path / "v2", exclude="full_archive.tar")
    assert_bytes(net, files_under(tmp_path / "v2"), {f.spec.key: f.spec for f in v2.files if not f.link})


def test_figshare_interrupted_download_resumes_on_the_storage_host(net: FakeInternet, tmp_path: Path) -> None:
    spec = OCEAN.versions[-1].files[0].spec
    net.add_quirk(Quirk(host=FIGSHARE_STORAGE, path=f"*/{spec.key}", kind="reset", after_bytes=spec.size // 2,
                        times=1))
    doi2data.download(OCEAN.doi(), tmp_path / "r", include=spec.key)
    assert (tmp_path / "r" / spec.key).read_bytes() == net.world.read(spec)
    ranged = [r for r in requests_to(net, FIGSHARE_STORAGE) if "range" in r.headers]
    assert ranged and ranged[-1].status == 206 and ranged[-1].headers.get("if-range")


def test_figshare_collection_and_portal_doi_lookup(net: FakeInternet) -> None:
    manifest = doi2data.resolve(OCEAN_COLLECTION.doi)
    paths = {f.path for f in manifest.files}
    assert f"{OCEAN.title}/profiles.nc" in paths and f"{TIDES.title}/tide_gauges.csv" in paths
    net.clear_log()
    tides = doi2data.resolve(TIDES.doi())
    assert {f.path: f.checksums["md5"] for f in tides.files} == {
        f.spec.key: net.world.digest(f.spec) for f in TIDES.versions[-1].files}
    lookups = [r for r in requests_to(net, "api.figshare.com", "/v2/articles") if "doi=" in r.query]
    assert lookups and lookups[0].path == "/v2/articles"


def test_fourtu_uuid_dataset(net: FakeInternet, tmp_path: Path) -> None:
    doi = f"10.4121/uuid:{FOURTU.uuid}"
    manifest = doi2data.resolve(doi)
    assert manifest.dataset.repository == "4TU.ResearchData"
    assert all(f.url and f.url.startswith(f"https://data.4tu.nl/file/{FOURTU.uuid}/") for f in manifest.files)
    doi2data.download(doi, tmp_path / "4tu")
    assert_bytes(net, files_under(tmp_path / "4tu"), {f.spec.key: f.spec for f in FOURTU.versions[-1].files})


# -- Dryad -----------------------------------------------------------------------------------------
def test_dryad_paginated_listing_and_download(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    ds = DRYAD_DATASET
    latest = [f for f in ds.versions[-1].files if f.status != "deleted"]
    files = by_path(ls_json(cli, ds.doi))
    for f in latest:
        algo = {"md5": "md5", "sha-256": "sha256", None: None}[f.digest_type]
        assert files[f.spec.key]["size"] == f.spec.size
        assert files[f.spec.key]["checksums"] == ({algo: net.world.digest(f.spec, algo)} if algo else {})
    assert set(files) == {f.spec.key for f in latest}  # the deleted file is left out
    pages = {r.query for r in requests_to(net, "datadryad.org", f"/api/v2/versions/{ds.versions[-1].id}/files")}
    assert {"", "page=2", "page=3"} <= pages
    net.clear_log()
    from doi2data.sandbox.sites.dryad import CLIENT_ID, CLIENT_SECRET  # since 2025 downloads need an API account
    report = doi2data.download(ds.doi, tmp_path / "dryad", tokens=[f"datadryad.org={CLIENT_ID}:{CLIENT_SECRET}"])
    assert report.count("downloaded") == len(latest)
    assert_bytes(net, files_under(tmp_path / "dryad"), {f.spec.key: f.spec for f in latest})
    assert {r.status for r in requests_to(net, "datadryad.org", "/api/v2/downloads/")} == {302}
    assert {r.status for r in requests_to(net, DRYAD_STORAGE)} == {200}


# -- OSF -------------------------------------------------------------------------------------------
def test_osf_folders_and_pagination(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    node = OSF_NODE
    files = by_path(ls_json(cli, node.doi))
    assert set(files) == {f.spec.key for f in node.files} and len(files) > 100
    for f in node.files[:5]:
        assert files[f.spec.key]["checksums"] == {"md5": net.world.digest(f.spec),
                                                  "sha256": net.world.digest(f.spec, "sha256")}
        assert files[f.spec.key]["size"] == f.spec.size
    listings = [r for r in requests_to(net, "api.osf.io", f"/v2/nodes/{node.guid}/files/osfstorage/")]
    assert any("page=2" in r.query for r in listings)  # 105 files: two pages even at page[size]=100
    run = cli("get", node.doi, "osf", "-q", "--include", "raw/**", "--include", "protocol.pdf")
    assert run.code == 0, run.err
    wanted = {f.spec.key: f.spec for f in node.files if not f.spec.key.startswith("many-files/")}
    assert_bytes(net, files_under(tmp_path / "osf"), wanted)
    assert {r.status for r in requests_to(net, "osf.io", "/download/")} == {302}
    assert {r.status for r in requests_to(net, "files.us.osf.io")} == {200}


# -- B2SHARE ---------------------------------------------------------------------------------------
def test_b2share_inline_files_bucket_listing_and_download(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    for rec in (B2_OPEN, B2_BUCKET_ONLY):
        files = by_path(ls_json(cli, rec.doi))
        assert {p: (f["size"], f["checksums"]) for p, f in files.items()} == {
            s.key: (s.size, {"md5": net.world.digest(s)}) for s in rec.files}
    assert requests_to(net, "b2share.eudat.eu", f"/api/files/{B2_BUCKET_ONLY.bucket}")
    report = doi2data.download(B2_OPEN.doi, tmp_path / "b2")
    assert report.count("downloaded") == len(B2_OPEN.files)
    assert_bytes(net, files_under(tmp_path / "b2"), {s.key: s for s in B2_OPEN.files})


def test_b2share_closed_record_is_reported_not_an_error(cli: Any, tmp_path: Path) -> None:
    run = cli("get", B2_CLOSED.doi, "closed", "-q")
    assert run.code == 0, run.err
    assert "restricted" in run.err and "0 downloaded" in run.err
    assert not (tmp_path / "closed").exists() or files_under(tmp_path / "closed") == {}


# -- what every emulator shares -------------------------------------------------------------------
def test_landing_pages_redirect_like_the_recordings(net: FakeInternet) -> None:
    with httpx.Client(follow_redirects=True) as client:
        page = client.get(f"https://doi.org/{HV.doi}")
        one = client.get(f"https://doi.org/{HARVARD_FILE_DOI}")
    assert [str(r.url).split("?")[0] for r in page.history] == [
        f"https://doi.org/{HV.doi}", f"https://{HARVARD}/citation"]
    assert page.status_code == 200 and str(page.url) == f"https://{HARVARD}/dataset.xhtml?persistentId=doi:{HV.doi}"
    assert HV.title in page.text
    assert one.status_code == 200 and one.url.path == "/file.xhtml"


def _download_urls() -> list[tuple[str, FileSpec]]:
    from doi2data.sandbox.general import fourtu_file_uuid

    codebook = next(f for f in HV.latest.files if f.pid == HARVARD_FILE_DOI)
    run1 = next(f for f in UNKNOWN_DV_DATASET.latest.files if f.id == 502)
    profiles = OCEAN.versions[-1].files[0]
    setup = FOURTU.versions[-1].files[1]
    tracks = next(f for f in DRYAD_DATASET.versions[-1].files if f.spec.key == "tracks.bin")
    protocol = OSF_NODE.files[0]
    spectra = B2_OPEN.files[1]
    return [
        (f"https://{HARVARD}/api/access/datafile/{codebook.id}", codebook.spec),
        (f"https://{UNKNOWN_DATAVERSE}/api/access/datafile/{run1.id}", run1.spec),
        (f"https://ndownloader.figshare.com/files/{profiles.id}", profiles.spec),
        (f"https://data.4tu.nl/file/{FOURTU.uuid}/{fourtu_file_uuid(FOURTU, setup)}", setup.spec),
        (f"https://datadryad.org/api/v2/downloads/{tracks.id}", tracks.spec),
        (f"https://datadryad.org/api/v2/files/{tracks.id}/download", tracks.spec),
        (f"https://osf.io/download/{protocol.guid}/", protocol.spec),
        (f"https://files.us.osf.io/v1/resources/{OSF_NODE.guid}/providers/osfstorage/{protocol.id}", protocol.spec),
        (f"https://b2share.eudat.eu/api/files/{B2_OPEN.bucket}/{spectra.key}", spectra),
    ]


@pytest.mark.parametrize(("url", "spec"), _download_urls(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_download_endpoint_serves_ranges(net: FakeInternet, url: str, spec: FileSpec) -> None:
    data = net.world.read(spec)
    auth = {}
    if url.startswith("https://datadryad.org/"):  # Dryad serves files to API accounts only (2025)
        from doi2data.sandbox.sites.dryad import state
        auth = {"Authorization": f"Bearer {state(net.world).grant()['access_token']}"}
    with httpx.Client(follow_redirects=True, headers=auth) as client:
        full = client.get(url)
        assert full.status_code == 200 and full.content == data
        assert {"content-length", "etag", "last-modified", "accept-ranges"} <= set(full.headers)
        part = client.get(url, headers={"Range": "bytes=100-199", "If-Range": full.headers["etag"]})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        stale = client.get(url, headers={"Range": "bytes=100-199", "If-Range": '"0123456789"'})
        assert stale.status_code == 200 and len(stale.content) == len(data)
        if full.url.host in (DVN_STORAGE, FIGSHARE_STORAGE, DRYAD_STORAGE):  # presigned, GET only (recorded)
            assert client.head(str(full.url)).status_code == 403
            assert client.get(str(full.url).split("?")[0]).status_code == 403


# -- failures --------------------------------------------------------------------------------------
MISSING = [
    f"https://{HARVARD}/dataset.xhtml?persistentId=doi:10.7910/DVN/NOPE00",
    "https://figshare.com/articles/dataset/Gone/39999999",
    "https://datadryad.org/dataset/doi:10.5061/dryad.nope0000",
    "https://osf.io/zzzzz/",
    "https://b2share.eudat.eu/records/ffffffffffffffffffffffffffffffff",
]
FAILING_API = [
    (HV.doi, HARVARD, "/api/datasets/*"),
    (OCEAN.doi(), "api.figshare.com", "/v2/articles/*"),
    (DRYAD_DATASET.doi, "datadryad.org", "/api/v2/*"),
    (OSF_NODE.doi, "api.osf.io", "/v2/nodes/*"),
    (B2_OPEN.doi, "b2share.eudat.eu", "/api/records/*"),
]


@pytest.mark.parametrize("landing", MISSING)
def test_missing_record_is_record_not_found(net: FakeInternet, landing: str) -> None:
    with pytest.raises(RecordNotFound):
        doi2data.resolve(landing)


@pytest.mark.parametrize(("doi", "host", "path"), FAILING_API)
def test_api_500_is_repository_error(net: FakeInternet, doi: str, host: str, path: str) -> None:
    net.add_quirk(Quirk(host=host, path=path, kind="status", status=500, headers={"Retry-After": "0"}))
    with pytest.raises(RepositoryError) as info:
        doi2data.resolve(doi)
    assert not isinstance(info.value, RecordNotFound)
    assert sum(r.status == 500 for r in requests_to(net, host)) >= 2  # retried before giving up


def test_cli_exit_codes_404_is_4_and_500_is_6(cli: Any, net: FakeInternet) -> None:
    run = cli("ls", MISSING[2])
    assert run.code == RecordNotFound.exit_code == 4, run.err
    assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1
    doi, host, path = FAILING_API[3]
    net.add_quirk(Quirk(host=host, path=path, kind="status", status=500, headers={"Retry-After": "0"}))
    run = cli("get", doi, "never")
    assert run.code == RepositoryError.exit_code == 6, run.err
    assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1


# -- dataset versions (--version / version=) -------------------------------------------------------
def _version_error(run: Any, code: int) -> str:
    assert run.code == code, run.err
    lines = run.err.strip().splitlines()
    assert "Traceback" not in run.err and lines[-1].startswith("doi2data: error: ")
    return lines[-1]


def test_version_dataverse_ls_lists_the_older_file_set(cli: Any, net: FakeInternet) -> None:
    v1 = HV.versions[0]
    doc = ls_json(cli, HV.doi, "--version", "1.0")
    assert {p: (f["size"], f["checksums"]) for p, f in by_path(doc).items()} == {
        f.spec.key: dv_expected(net, f) for f in v1.files}
    assert doc["dataset"]["version"] == "1.0" and len(doc["files"]) < len(HV.latest.files)
    assert requests_to(net, HARVARD, "/api/datasets/:persistentId/versions/1.0")
    latest = ls_json(cli, HV.doi)  # the default is still the latest published version
    assert latest["dataset"]["version"] == "2.0" and len(latest["files"]) == len(HV.latest.files)
    major = ls_json(cli, HV.doi, "--version", "1")  # N: the latest N.x
    assert set(by_path(major)) == {f.spec.key for f in v1.files}


def test_version_dataverse_missing_version_names_the_existing_ones(cli: Any, net: FakeInternet) -> None:
    error = _version_error(cli("ls", HV.doi, "--version", "9.0"), RecordNotFound.exit_code)
    assert "has no version 9.0" in error and "available: 2.0, 1.0" in error
    listed = requests_to(net, HARVARD, "/api/datasets/:persistentId/versions")
    assert any("excludeFiles=true" in r.query for r in listed)
    error = _version_error(cli("ls", HV.doi, "--version", "one point oh"), UsageError.exit_code)
    assert "--version" in error


def test_version_dataverse_draft_needs_a_token(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    from doi2data.sandbox.sites.dataverse import DRAFTS

    draft = DRAFTS[HV.doi]
    error = _version_error(cli("ls", HV.doi, "--version", ":draft"), AccessDenied.exit_code)
    assert "draft" in error and "X-Dataverse-key" in error and "no API token was sent" in error
    doc = ls_json(cli, HV.doi, "--version", ":draft", "--token", TOKEN_SPEC)
    assert set(by_path(doc)) == {f.spec.key for f in draft.files} and doc["dataset"]["version"] == "DRAFT"
    # a token that sees the draft still gets the latest *published* version by default
    assert set(by_path(ls_json(cli, HV.doi, "--token", TOKEN_SPEC))) == {f.spec.key for f in HV.latest.files}
    new = next(f for f in draft.files if f not in HV.latest.files)
    run = cli("get", HV.doi, "draft", "-q", "--version", "draft", "--token", TOKEN_SPEC, "--include", new.spec.key)
    assert run.code == 0, run.err
    assert (tmp_path / "draft" / new.spec.key).read_bytes() == net.world.read(new.spec)


def test_version_get_and_verify_an_older_version(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    v1 = HV.versions[0]
    run = cli("get", HV.doi, "v1", "-q", "--version", "1.0")
    assert run.code == 0, run.err
    assert_bytes(net, files_under(tmp_path / "v1"), {f.spec.key: f.spec for f in v1.files})
    run = cli("verify", HV.doi, "v1", "--version", "1.0")
    assert run.code == 0 and f"{len(v1.files)} ok, 0 bad" in run.err, run.err
    run = cli("verify", HV.doi, "v1")  # against the latest version, files are missing
    assert run.code == 1 and "MISSING" in run.err


def test_version_figshare_dryad_and_zenodo(cli: Any, net: FakeInternet) -> None:
    doc = ls_json(cli, OCEAN.doi(), "--version", "1")
    assert set(by_path(doc)) == {f.spec.key for f in OCEAN.versions[0].files}
    assert doc["doi"] == OCEAN.doi(1) and requests_to(net, "api.figshare.com", f"/v2/articles/{OCEAN.id}/versions/1")
    assert set(by_path(ls_json(cli, OCEAN.doi(2), "--version", "v1"))) == {f.spec.key for f in OCEAN.versions[0].files}
    error = _version_error(cli("ls", OCEAN.doi(), "--version", "5"), RecordNotFound.exit_code)
    assert "no version 5" in error and "available: 1, 2" in error
    _version_error(cli("ls", OCEAN.doi(), "--version", "1.0"), UsageError.exit_code)
    dr = DRYAD_DATASET
    doc = ls_json(cli, dr.doi, "--version", "1")
    assert set(by_path(doc)) == {f.spec.key for f in dr.versions[0].files} and doc["dataset"]["version"] == "1"
    error = _version_error(cli("ls", dr.doi, "--version", "3"), RecordNotFound.exit_code)
    assert "available: 1, 2" in error
    doc = ls_json(cli, "10.5281/zenodo.1215979", "--version", "1.0")  # Zenodo: each version is its own record
    assert doc["doi"] == "10.5281/zenodo.1215900" and doc["file_count"] == 3
    assert any("version 1.0 is record 1215900" in w for w in doc["warnings"])
    assert ls_json(cli, "10.5281/zenodo.1215900", "--version", "2")["doi"] == "10.5281/zenodo.1215979"  # 2nd version
    error = _version_error(cli("ls", "10.5281/zenodo.1215979", "--version", "3.0"), RecordNotFound.exit_code)
    assert "1.1 (record 1215979)" in error and "1.0 (record 1215900)" in error


def test_version_refused_where_there_are_no_versions(cli: Any) -> None:
    error = _version_error(cli("ls", OSF_NODE.doi, "--version", "1"), VersionNotSupported.exit_code)
    assert "OSF" in error and "no dataset versions" in error
    run = cli("ls", "10.99999/signposting.1", "--version", "2", "--explain")
    error = _version_error(run, VersionNotSupported.exit_code)
    assert "generic signposting layer" in error and "matched layer signposting" in run.err
    _version_error(cli("ls", HV.doi, "--version", ""), UsageError.exit_code)
    run = cli("--version")  # the program's own version is untouched
    assert run.code == 0 and run.out.startswith("doi2data, version ")


def test_version_python_api_and_other_commands(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    manifest = doi2data.resolve(HV.doi, version="1.0")
    assert {f.path for f in manifest.files} == {f.spec.key for f in HV.versions[0].files}
    with pytest.raises(UsageError):
        doi2data.download(manifest, tmp_path / "x", version="1.0")
    run = cli("export", HV.doi, "--ro-crate", "crate", "--holey", "--version", "1.0")
    assert run.code == 0, run.err
    crate = json.loads((tmp_path / "crate" / "ro-crate-metadata.json").read_text())
    names = {e.get("name") or e.get("@id") for e in crate["@graph"]}
    assert "code/analysis.py" not in json.dumps(crate) and any("codebook.pdf" in str(n) for n in names)
