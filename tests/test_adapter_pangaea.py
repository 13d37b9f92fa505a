"""PANGAEA adapter: DOI/URL forms, JSON-LD distributions, names from HEAD, unknown sizes, logins, end to end."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest

import doi2data
from doi2data.adapters import pangaea
from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.pangaea import ADAPTER, GENERATED_NOTE, PANGAEA, Probe
from doi2data.errors import RecordNotFound, RepositoryError, VersionNotSupported
from doi2data.http import Http
from doi2data.model import Manifest
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.mendeley_pangaea import AA, AGE_COLLECTION, GUBBIO, PANGAEA_TOKEN, RESTRICTED_CORE, table_bytes

URL = f"{PANGAEA}/10.1594/PANGAEA.909550"
RECORDED = Path(os.environ.get("DOI2DATA_SHARED") or Path(__file__).resolve().parents[2] / "shared") / \
    "fixtures" / "recorded"


def _res(url: str, doi: str | None = None) -> Resolved:
    return Resolved(doi or url, doi, url, None)


def ld(distribution: Any = None, **extra: Any) -> dict[str, Any]:
    """A JSON-LD document in the shape PANGAEA serves (fields as in a recorded answer, values ours)."""
    return {"@context": "http://schema.org/", "@id": "https://doi.org/10.1594/PANGAEA.909550", "@type": "Dataset",
            "identifier": "https://doi.org/10.1594/PANGAEA.909550", "url": URL,
            "creator": [{"@type": "Person", "name": "Fouzia Haider", "familyName": "Haider", "givenName": "Fouzia"},
                        {"@type": "Person", "name": "Inna M Sokolova"}],
            "name": "Effects of hypoxia", "publisher": {"@type": "Organization", "name": "PANGAEA"},
            "datePublished": "2019-12-05", "isPartOf": "https://doi.org/10.1594/PANGAEA.909581",
            "license": "https://creativecommons.org/licenses/by/4.0/", "conditionsOfAccess": "unrestricted",
            "isAccessibleForFree": True, "size": {"@type": "QuantitativeValue", "value": 2940, "unitText": "data points"},
            "distribution": distribution if distribution is not None else [
                {"@type": "DataDownload", "encodingFormat": "text/html", "contentUrl": f"{URL}?format=html"},
                {"@type": "DataDownload", "encodingFormat": "text/tab-separated-values",
                 "contentUrl": f"{URL}?format=textfile"}], **extra}


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    u = httpx.URL(url)
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode())))


def _run(routes: dict[tuple[str, str], Any], ref: RecordRef | None = None,
         seen: list[httpx.Request] | None = None) -> Manifest:
    table = {(method, _key(url)): v for (method, url), v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(request)
        body = table.get((request.method, _key(str(request.url))))
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(404, text="not found") if body is None else httpx.Response(200, json=body)

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(ref or RecordRef("pangaea", PANGAEA, "909550", "PANGAEA"), _res(URL),
                                            Http(client, max_attempts=1))

    return asyncio.run(go())


# --- recognize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, doi, rid", [
    ("https://doi.pangaea.de/10.1594/PANGAEA.954547", "10.1594/PANGAEA.954547", "954547"),
    ("https://example.org/", "10.1594/pangaea.842237", "842237"),
    ("https://doi.pangaea.de/10.1594/PANGAEA.954543", None, "954543"),
    ("http://doi.pangaea.de/10.1594/pangaea.954543?format=html", None, "954543"),
    ("https://doi.pangaea.de/10.1594%2FPANGAEA.954543", None, "954543"),
])
def test_recognize(url: str, doi: str | None, rid: str) -> None:
    got = ADAPTER.recognize(_res(url, doi))
    assert got is not None and (got.adapter, got.api_base, got.record_id, got.repository) == (
        "pangaea", PANGAEA, rid, "PANGAEA")


@pytest.mark.parametrize("url, doi", [
    ("https://www.pangaea.de/?q=gubbio", None), ("https://doi.pangaea.de/", None),
    ("https://doi.pangaea.de/10.1594/PANGAEA.954547/extra", None), ("https://example.org/10.1594/PANGAEA.1", None),
    ("https://example.org/", "10.1594/WDCC/ABC"), ("https://zenodo.org/records/1", "10.5281/zenodo.1"),
])
def test_recognize_rejects(url: str, doi: str | None) -> None:
    assert ADAPTER.recognize(_res(url, doi)) is None


@pytest.mark.skipif(not (RECORDED / "datacite").is_dir(), reason=f"recorded fixtures not found at {RECORDED}")
def test_recorded_datacite_record_is_pangaeas() -> None:
    """The recorded DataCite answer for a PANGAEA DOI (read in place): its landing URL and DOI are claimed."""
    doc = json.loads((RECORDED / "datacite" / "dois-10.1594_pangaea.842237-include-media-client.json").read_text())
    attrs = doc["data"]["attributes"]
    assert doc["data"]["relationships"]["client"]["data"]["id"] == "pangaea.repository"
    for resolved in (_res(attrs["url"], attrs["doi"]), _res(attrs["url"])):
        got = ADAPTER.recognize(resolved)
        assert got is not None and got.record_id == "842237"
    assert attrs["formats"] == ["text/tab-separated-values"] and attrs["contentUrl"] is None


# --- parsing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, name", [
    ("attachment; filename=Gubbio_age.tab", "Gubbio_age.tab"),
    ('attachment; filename="AA age.tab"', "AA age.tab"),
    ('attachment; filename="a\\"b.tab"', 'a"b.tab'),
    ("attachment; filename=\"x.tab\"; filename*=UTF-8''%C3%A9t%C3%A9.tab", "été.tab"),
    ("attachment; filename*=UTF-8''bad%ZZ.tab; filename=ok.tab", "bad%ZZ.tab"),
    ("attachment", None), ("", None), (None, None),
])
def test_filename_from_disposition(value: str | None, name: str | None) -> None:
    assert pangaea.filename_from_disposition(value) == name


def test_dataset_metadata() -> None:
    ds = pangaea.parse_dataset(ld())
    assert (ds.doi, ds.record_id, ds.title, ds.year, ds.publisher) == (
        "10.1594/PANGAEA.909550", "909550", "Effects of hypoxia", 2019, "PANGAEA")
    assert ds.creators == ("Haider, Fouzia", "Inna M Sokolova") and ds.access == "open"
    assert ds.license == "https://creativecommons.org/licenses/by/4.0/" and ds.resource_type == "Dataset"
    one = pangaea.parse_dataset(ld(creator={"@type": "Person", "name": "Solo"}, license=[{"@id": "cc0"}]))
    assert one.creators == ("Solo",) and one.license == "cc0"
    bad: Any
    for bad in ([], {"@type": "Person"}, "text"):
        with pytest.raises(RepositoryError):
            pangaea.parse_dataset(bad)


def test_generated_table_has_no_size_and_takes_its_name_from_head() -> None:
    plain = pangaea.parse_jsonld(ld())
    [entry] = plain.files
    assert (entry.path, entry.size, dict(entry.checksums)) == ("PANGAEA.909550.tab", None, {})
    assert entry.url == f"{URL}?format=textfile" and GENERATED_NOTE in (entry.note or "")
    assert any("no sizes or checksums" in w for w in plain.warnings)
    named = pangaea.parse_jsonld(ld(), {f"{URL}?format=textfile": Probe("Haider_metabolites.tab", 200)})
    assert named.files[0].path == "Haider_metabolites.tab" and named.files[0].access == "open"
    single = pangaea.parse_jsonld(ld(distribution={"@type": "DataDownload", "encodingFormat": "application/zip",
                                                   "contentUrl": f"{URL}?format=zip"}))
    assert single.files[0].path == "PANGAEA.909550.zip"


def test_access_from_jsonld_and_from_head() -> None:
    locked = pangaea.parse_jsonld(ld(conditionsOfAccess="login required", isAccessibleForFree=False))
    assert locked.dataset.access == "restricted" and locked.files[0].access == "restricted"
    assert "login required" in (locked.files[0].note or "")
    refused = pangaea.parse_jsonld(ld(), {f"{URL}?format=textfile": Probe(None, 403)})
    assert refused.files[0].access == "restricted" and "HTTP 403" in (refused.files[0].note or "")
    gone = pangaea.parse_jsonld(ld(), {f"{URL}?format=textfile": Probe(None, 404)})
    assert gone.files[0].access == "offline"


def test_collection_zip_and_stored_files() -> None:
    parent = ld(distribution=[{"@type": "DataDownload", "encodingFormat": "application/zip",
                               "contentUrl": f"{URL}?format=zip"}],
                hasPart=["https://doi.org/10.1594/PANGAEA.1", {"@id": "https://doi.org/10.1594/PANGAEA.2"}])
    m = pangaea.parse_jsonld(parent, {f"{URL}?format=zip": Probe("Parent.zip", 200)})
    assert m.dataset.resource_type == "Collection" and [f.path for f in m.files] == ["Parent.zip"]
    assert "2 datasets" in (m.files[0].note or "") and any("collection of 2" in w for w in m.warnings)
    stored = ld(distribution=[{"encodingFormat": "image/png",
                               "contentUrl": "https://download.pangaea.de/dataset/909550/files/core%201.png"},
                              {"encodingFormat": "text/plain", "name": "named.txt", "contentUrl": f"{URL}?x=1"}])
    assert [f.path for f in pangaea.parse_jsonld(stored).files] == ["core 1.png", "named.txt"]
    assert not any(pangaea.needs_probe(u, n) for u, _, n in pangaea.downloads(stored))
    empty = pangaea.parse_jsonld(ld(distribution=[{"encodingFormat": "text/html", "contentUrl": f"{URL}"}]))
    assert empty.files == () and any("no downloadable" in w for w in empty.warnings)


# --- list_files ------------------------------------------------------------------------------------

def test_list_files_heads_only_the_generated_file() -> None:
    seen: list[httpx.Request] = []
    head = httpx.Response(200, headers={"content-disposition": "attachment; filename=Haider_metabolites.tab"})
    m = _run({("GET", f"{URL}?format=metadata_jsonld"): ld(), ("HEAD", f"{URL}?format=textfile"): head}, seen=seen)
    assert [f.path for f in m.files] == ["Haider_metabolites.tab"] and m.files[0].size is None
    assert [(r.method, r.url.params.get("format")) for r in seen] == [("GET", "metadata_jsonld"), ("HEAD", "textfile")]
    assert "application/ld+json" in seen[0].headers["accept"]
    assert m.dataset.doi == "10.1594/PANGAEA.909550" and m.dataset.repository == "PANGAEA"


def test_list_files_head_refused_or_failing() -> None:
    refused = _run({("GET", f"{URL}?format=metadata_jsonld"): ld(),
                    ("HEAD", f"{URL}?format=textfile"): httpx.Response(401)})
    assert refused.files[0].access == "restricted" and refused.files[0].path == "PANGAEA.909550.tab"
    broken = _run({("GET", f"{URL}?format=metadata_jsonld"): ld(),
                   ("HEAD", f"{URL}?format=textfile"): httpx.Response(500)})
    assert broken.files[0].access == "open" and "HTTP 500" in (broken.files[0].note or "")


def test_list_files_errors() -> None:
    with pytest.raises(RecordNotFound):
        _run({})
    with pytest.raises(RepositoryError):
        _run({("GET", f"{URL}?format=metadata_jsonld"): {"@type": "Person"}})
    with pytest.raises(VersionNotSupported):
        _run({}, RecordRef("pangaea", PANGAEA, "909550", "PANGAEA", version="2"))


# --- through the fake internet ---------------------------------------------------------------------

def test_emulator_generated_file_head(net: FakeInternet) -> None:
    with httpx.Client() as client:
        head = client.head(f"https://doi.pangaea.de/{GUBBIO.doi}?format=textfile")
        body = client.get(f"https://doi.pangaea.de/{GUBBIO.doi}?format=textfile", headers={"Range": "bytes=0-9"})
    assert head.status_code == 200 and head.headers["content-disposition"] == "attachment; filename=Gubbio_age.tab"
    assert "content-length" not in head.headers and "etag" not in head.headers
    assert body.status_code == 200 and body.content == table_bytes(GUBBIO)  # ranges are ignored


def _files(dest: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*")
            if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_get_size_unknown_table_end_to_end(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    run = cli("ls", GUBBIO.doi, "--json")
    assert run.code == 0, run.err
    listed = json.loads(run.out)
    [entry] = listed["files"]
    assert (entry["path"], entry["size"], entry["checksums"]) == ("Gubbio_age.tab", None, {})
    assert "size and checksum unknown" in entry["note"] and listed["repository"] == "PANGAEA"
    run = cli("get", GUBBIO.doi, "pg", "-q")
    assert run.code == 0, run.err
    assert _files(tmp_path / "pg") == {"Gubbio_age.tab": table_bytes(GUBBIO)}
    again = cli("get", f"https://doi.pangaea.de/{GUBBIO.doi}", "pg", "--json")
    assert again.code == 0, again.err
    summary = json.loads(again.out.strip().splitlines()[-1])
    assert (summary["present"], summary["downloaded"], summary["bytes"]) == (1, 0, 0)  # a re-run moves nothing
    gc.collect()  # the sandbox proxy drops a StreamWriter when a client process exits: collect it here


def test_collection_zip_and_restricted_dataset(net: FakeInternet, tmp_path: Path) -> None:
    report = doi2data.download(AGE_COLLECTION.doi, tmp_path / "col")
    assert report.count("downloaded") == 1
    with zipfile.ZipFile(io.BytesIO((tmp_path / "col" / AGE_COLLECTION.filename).read_bytes())) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == {GUBBIO.filename: table_bytes(GUBBIO),
                                                          AA.filename: table_bytes(AA)}
    locked = doi2data.download(RESTRICTED_CORE.doi, tmp_path / "locked", raise_on_failure=False)
    assert [(r.path, r.status) for r in locked.results] == [(f"PANGAEA.{RESTRICTED_CORE.number}.tab", "skipped")]
    opened = doi2data.download(RESTRICTED_CORE.doi, tmp_path / "open", tokens=[f"doi.pangaea.de={PANGAEA_TOKEN}"])
    assert opened.count("downloaded") == 1
    assert _files(tmp_path / "open") == {RESTRICTED_CORE.filename: table_bytes(RESTRICTED_CORE)}


def test_version_is_refused(net: FakeInternet) -> None:
    with pytest.raises(VersionNotSupported):
        doi2data.resolve(GUBBIO.doi, version="2")


# -- binary datasets: the data table names the files (pangaeapy's rule) ----------------------------

def test_table_files_columns_sizes_and_md5() -> None:
    table = ("/* DATA DESCRIPTION:\nCitation:\tx\n*/\n"
             "Event\tBinary\tBinary (Size) [Bytes]\tBinary (MD5 Hash)\tURL file\tImage (Size) [kByte]\tImage\n"
             "e1\ta b.jpg\t12\t" + "0" * 32 + "\t\t3.5\t\n"
             "e2\tc.dat\tnot-a-number\tXYZ\thttps://hs.pangaea.de/x/y%20z.nc\t\timg.png\n")
    files = pangaea.table_files(table, "7")
    assert files == [
        ("a b.jpg", "https://download.pangaea.de/dataset/7/files/a%20b.jpg", 12, "0" * 32),
        ("c.dat", "https://download.pangaea.de/dataset/7/files/c.dat", None, None),   # bad size, bad md5: unknown
        ("y z.nc", "https://hs.pangaea.de/x/y%20z.nc", None, None),                    # a full URL is used as given
        ("img.png", "https://download.pangaea.de/dataset/7/files/img.png", None, None),  # kByte is not exact
    ]
    assert not pangaea.is_binary_column("Binary (Size) [Bytes]") and pangaea.is_binary_column("netCDF file")
    assert pangaea.table_files("Depth [m]\tAge [ka BP]\n1\t2\n", "7") == []  # an ordinary table lists no files


def test_binary_dataset_lists_files_restricted_without_a_token(net: FakeInternet) -> None:
    from doi2data.sandbox.mendeley_pangaea import SEAFLOOR_IMAGES

    manifest = doi2data.resolve(SEAFLOOR_IMAGES.doi)
    binaries = {f.path: f for f in manifest.files if f.path != SEAFLOOR_IMAGES.filename}
    assert sorted(binaries) == sorted(f.key for f in SEAFLOOR_IMAGES.binaries)
    for spec in SEAFLOOR_IMAGES.binaries:
        entry = binaries[spec.key]
        assert entry.size == spec.size and entry.checksums["md5"] == net.world.digest(spec, "md5")
        assert entry.access == "restricted" and "--token download.pangaea.de=" in (entry.note or "")
    tables = [r for r in net.log if r.host == "doi.pangaea.de" and "format=textfile" in r.query]
    assert len(tables) == 1  # the table is read once, to list the files
    assert not [r for r in net.log if r.host == "download.pangaea.de"]  # nothing fetched without a token


def test_binary_dataset_downloads_verified_with_a_token(net: FakeInternet, tmp_path: Path) -> None:
    from doi2data.sandbox.mendeley_pangaea import SEAFLOOR_IMAGES

    token = f"download.pangaea.de={PANGAEA_TOKEN}"
    report = doi2data.download(SEAFLOOR_IMAGES.doi, tmp_path, tokens=[token], exclude=["*.tab"])
    assert sorted(r.path for r in report.results if r.status == "downloaded") == \
        sorted(f.key for f in SEAFLOOR_IMAGES.binaries)
    for spec in SEAFLOOR_IMAGES.binaries:
        assert (tmp_path / spec.key).read_bytes() == net.world.read(spec)
    sent = [r for r in net.log if r.host == "download.pangaea.de"]
    assert sent and all(r.headers.get("authorization") == f"Bearer {PANGAEA_TOKEN}" for r in sent)
    assert not any(r.headers.get("authorization") for r in net.log if r.host == "doi.pangaea.de")


def test_ordinary_dataset_does_not_read_its_table_to_list(net: FakeInternet) -> None:
    doi2data.resolve(GUBBIO.doi)
    assert not [r for r in net.log if "format=textfile" in r.query and r.method == "GET"]
