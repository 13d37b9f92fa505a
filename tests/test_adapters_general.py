"""One conformance suite for every repository adapter, parametrised by :data:`CASES`.

Each :class:`AdapterCase` states the identifier forms the adapter must claim (and some it must
leave alone), one small record served through ``httpx.MockTransport`` behind the real
:class:`~doi2data.http.Http`, and the pure parser with JSON templates for fuzzing. The same checks
then run for every adapter: recognition, no claim on other adapters' exclusive forms, a listing
with sizes, checksums and URLs (and no request for file bytes), missing record -> RecordNotFound,
API failure -> RepositoryError, and arbitrary JSON -> only Doi2DataError subclasses.

To add an adapter (e.g. InvenioRDM), append an ``AdapterCase`` to :data:`CASES`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.adapters import b2share, dataverse, dryad, figshare, invenio, osf
from doi2data.adapters import mendeley, pangaea
from doi2data.adapters.base import Adapter, RecordRef, Resolved
from doi2data.errors import Doi2DataError, RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Manifest

MD5 = "0123456789abcdef0123456789abcdef"
MD5B = "fedcba9876543210fedcba9876543210"
SHA256 = "ab" * 32


@dataclass(frozen=True)
class Form:
    """A landing URL (and DOI) an adapter must claim, with the ``RecordRef`` fields it must produce."""

    url: str
    doi: str | None = None
    record_id: str | None = None
    api_base: str | None = None
    exclusive: bool = True  # False when another adapter may legitimately claim it too

    def resolved(self) -> Resolved:
        return Resolved(identifier=self.doi or self.url, doi=self.doi, landing_url=self.url, metadata=None)


@dataclass
class AdapterCase:
    name: str
    adapter: Adapter
    accept: list[Form]
    reject: list[Form]
    ref: RecordRef
    resolved: Resolved
    routes: dict[str, Any]                           # URL -> JSON body served with 200
    expected: dict[str, tuple[int | None, dict[str, str]]]  # path -> (size, checksums)
    parse: Callable[[Any], object]                   # the pure parser, for fuzzing
    templates: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


def route_key(url: str | httpx.URL) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """Host, decoded path and sorted decoded query: escaping differences do not matter."""
    u = httpx.URL(str(url))
    return u.host, unquote(u.path), tuple(sorted(parse_qsl(u.query.decode(), keep_blank_values=True)))


def serve(routes: dict[str, Any], seen: list[str] | None = None,
          fallback: Callable[[httpx.Request], httpx.Response] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    table = {route_key(k): v for k, v in routes.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(str(request.url))
        body = table.get(route_key(request.url))
        if body is None:
            return fallback(request) if fallback else httpx.Response(404, json={"status": 404, "message": "not found"})
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(200, json=body)

    return handler


def run_list(adapter: Adapter, handler: Callable[[httpx.Request], httpx.Response], ref: RecordRef,
             resolved: Resolved) -> Manifest:
    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as client:
            return await adapter.list_files(ref, resolved, Http(client, max_attempts=1))

    return asyncio.run(go())


def _resolved(url: str, doi: str | None = None) -> Resolved:
    return Resolved(identifier=doi or url, doi=doi, landing_url=url, metadata=None)


# --- the cases -------------------------------------------------------------------------------------

DV = "https://dataverse.example.org"
DV_DOC = {"status": "OK", "data": {
    "id": 42, "protocol": "doi", "authority": "10.5072", "separator": "/", "identifier": "FK2/ABCDEF",
    "publisher": "Example Dataverse", "publicationDate": "2021-03-04", "persistentUrl": "https://doi.org/10.5072/FK2/ABCDEF",
    "latestVersion": {"versionNumber": 2, "versionMinorNumber": 1, "versionState": "RELEASED", "license": "CC0",
                      "metadataBlocks": {"citation": {"fields": [
                          {"typeName": "title", "value": "Example"},
                          {"typeName": "author", "value": [{"authorName": {"value": "Doe, Jane"}}]}]}},
                      "files": [
                          {"label": "readme.txt", "restricted": False,
                           "dataFile": {"id": 11, "filesize": 10, "contentType": "text/plain", "md5": MD5,
                                        "checksum": {"type": "MD5", "value": MD5}}},
                          {"label": "data.bin", "directoryLabel": "raw/2021", "restricted": False,
                           "dataFile": {"id": 12, "filesize": 20, "checksum": {"type": "SHA-256", "value": SHA256}}}]}}}

FS_ARTICLE = {"id": 14763051, "title": "Test data", "doi": "10.6084/m9.figshare.14763051.v1", "version": 1, "size": 30,
              "published_date": "2021-06-10T14:45:37Z", "authors": [{"full_name": "Leonardo Uieda"}],
              "license": {"name": "CC BY 4.0"}, "defined_type_name": "dataset", "folder_structure": {},
              "files": [{"id": 1, "name": "a.txt", "size": 10, "is_link_only": False, "computed_md5": MD5,
                         "supplied_md5": MD5, "download_url": "https://ndownloader.figshare.com/files/1"},
                        {"id": 2, "name": "b.txt", "size": 20, "is_link_only": False, "computed_md5": MD5B,
                         "supplied_md5": "", "download_url": "https://ndownloader.figshare.com/files/2"}]}

DRYAD_DOI = "10.5061/dryad.abc123"
DRYAD_DS = {"_links": {"stash:version": {"href": "/api/v2/versions/77"}}, "identifier": f"doi:{DRYAD_DOI}", "id": 9,
            "title": "Nests", "authors": [{"firstName": "Ann", "lastName": "Lee"}], "versionNumber": 3,
            "publicationDate": "2022-01-02", "license": "https://spdx.org/licenses/CC0-1.0.html", "visibility": "public"}


def dryad_file(i: int, path: str, size: int, digest: str | None = MD5, kind: str = "md5") -> dict[str, Any]:
    entry: dict[str, Any] = {"_links": {"self": {"href": f"/api/v2/files/{i}"},
                                        "stash:download": {"href": f"/api/v2/downloads/{i}"}},
                             "path": path, "size": size, "mimeType": "text/plain", "status": "created"}
    if digest:
        entry.update(digest=digest, digestType=kind)
    return entry


DRYAD_P1 = {"_links": {"next": {"href": "/api/v2/versions/77/files?page=2"}}, "count": 1, "total": 2,
            "_embedded": {"stash:files": [dryad_file(1, "a.csv", 10)]}}
DRYAD_P2 = {"_links": {}, "count": 1, "total": 2,
            "_embedded": {"stash:files": [dryad_file(2, "b.csv", 20, SHA256, "sha-256")]}}

OSF_API = "https://api.osf.io/v2"


def osf_item(kind: str, name: str, materialized: str, *, size: int | None = None, related: str | None = None,
             provider: str = "osfstorage", guid: str = "zzzzz") -> dict[str, Any]:
    item: dict[str, Any] = {"id": name, "type": "files", "attributes": {
        "kind": kind, "name": name, "materialized_path": materialized, "provider": provider, "size": size,
        "extra": {"hashes": {"md5": MD5 if kind == "file" else None, "sha256": SHA256 if kind == "file" else None}}},
        "links": {"download": f"https://osf.io/download/{guid}/"} if kind == "file" else {}}
    if related:
        item["relationships"] = {"files": {"links": {"related": {"href": related}}}}
    return item


OSF_NODE = {"data": {"id": "kq573", "type": "nodes", "attributes": {"title": "Nests", "category": "project",
                                                                      "date_created": "2019-08-10T16:33:29"},
                     "links": {"html": "https://osf.io/kq573/"},
                     "relationships": {"files": {"links": {"related": {"href": f"{OSF_API}/nodes/kq573/files/"}}}}}}
OSF_PROVIDERS = {"data": [osf_item("folder", "osfstorage", "/", related=f"{OSF_API}/nodes/kq573/files/osfstorage/")],
                 "links": {"next": None}}
OSF_ROOT = {"data": [osf_item("file", "a.xlsx", "/a.xlsx", size=10, guid="aaaaa"),
                     osf_item("folder", "sub", "/sub/", related=f"{OSF_API}/nodes/kq573/files/osfstorage/f1/")],
            "links": {"next": None}}
OSF_SUB = {"data": [osf_item("file", "b.sh", "/sub/b.sh", size=20, guid="bbbbb")], "links": {"next": None}}

B2 = "https://b2share.eudat.eu"
B2_ID = "b43a0e6914e34de8bd19613bcdc0d364"
B2_RECORD = {"id": B2_ID, "created": "2017-03-02T17:07:13+00:00",
             "links": {"self": f"{B2}/api/records/{B2_ID}", "files": f"{B2}/api/files/bucket-1"},
             "metadata": {"titles": [{"title": "My upload"}], "creators": [{"creator_name": "Jane Smith"}],
                          "DOI": f"http://doi.org/10.23728/b2share.{B2_ID}", "open_access": True,
                          "publication_date": "2017-03-02", "license": {"license": "MIT"}},
             "files": [{"bucket": "bucket-1", "key": "a b.txt", "size": 10, "checksum": f"md5:{MD5}",
                        "ePIC_PID": "http://hdl.handle.net/11304/x"},
                       {"bucket": "bucket-1", "key": "dir/c.txt", "size": 20, "checksum": f"md5:{MD5B}"}]}

ZEN = "https://zenodo.org"
ZEN_RECORD = {"id": 42, "recid": "42", "doi": "10.5281/zenodo.42", "conceptdoi": "10.5281/zenodo.41",
              "metadata": {"title": "Zen", "creators": [{"name": "Doe, Jane"}], "publication_date": "2020-01-02",
                           "access_right": "open", "license": {"id": "cc-by-4.0"}},
              "links": {"self": f"{ZEN}/api/records/42", "self_html": f"{ZEN}/records/42"},
              "files": [{"id": "u1", "key": "a b.txt", "size": 10, "checksum": f"md5:{MD5}",
                         "links": {"self": f"{ZEN}/api/records/42/files/a%20b.txt/content"}},
                        {"id": "u2", "key": "dir/c.txt", "size": 20, "checksum": f"md5:{MD5B}",
                         "links": {"self": f"{ZEN}/api/records/42/files/dir/c.txt/content"}}]}

CASES: list[AdapterCase] = [
    AdapterCase(
        name="invenio", adapter=invenio.ADAPTER,
        accept=[
            Form("https://zenodo.org/records/42", "10.5281/zenodo.42", "42", ZEN),
            Form("https://zenodo.org/record/42", None, "42", ZEN),
            Form("https://www.zenodo.org/records/42", None, "42", ZEN),
            Form("https://doi.org/10.5281/zenodo.42", "10.5281/zenodo.42", "42", ZEN),
            Form("https://rdm.unknown-university.example/records/ab12c-3de45", None, "ab12c-3de45",
                 "https://rdm.unknown-university.example"),
        ],
        reject=[Form("https://zenodo.org/communities/x"), Form("https://example.org/about"),
                Form("https://figshare.com/articles/dataset/x/1")],
        ref=RecordRef("invenio", ZEN, "42", "Zenodo"),
        resolved=_resolved(f"{ZEN}/records/42", "10.5281/zenodo.42"),
        routes={f"{ZEN}/api/records/42": ZEN_RECORD},
        expected={"a b.txt": (10, {"md5": MD5}), "dir/c.txt": (20, {"md5": MD5B})},
        parse=lambda doc: invenio.parse_record(doc, ZEN), templates=[ZEN_RECORD],
    ),
    AdapterCase(
        name="dataverse", adapter=dataverse.ADAPTER,
        accept=[
            Form("https://dataverse.harvard.edu/citation?persistentId=doi:10.7910/DVN/RLMYMR", "10.7910/DVN/RLMYMR",
                 "doi:10.7910/DVN/RLMYMR", "https://dataverse.harvard.edu"),
            Form("https://dataverse.example.org/dataset.xhtml?persistentId=doi:10.5072/FK2/ABCDEF&version=2.0", None,
                 "doi:10.5072/FK2/ABCDEF@2.0", DV),
            Form("https://dataverse.example.org/file.xhtml?persistentId=doi:10.5072/FK2/ABCDEF/XYZ", None,
                 "file:doi:10.5072/FK2/ABCDEF/XYZ", DV),
            Form("https://doi.org/10.7910/DVN/X", "10.7910/DVN/X", "doi:10.7910/DVN/X", "https://dataverse.harvard.edu"),
        ],
        reject=[Form("https://dataverse.harvard.edu/dataverse/harvard"), Form("https://zenodo.org/records/1"),
                Form("https://example.org/dataset.xhtml")],
        ref=RecordRef("dataverse", DV, "doi:10.5072/FK2/ABCDEF", "dataverse.example.org"),
        resolved=_resolved(f"{DV}/dataset.xhtml?persistentId=doi:10.5072/FK2/ABCDEF", "10.5072/FK2/ABCDEF"),
        routes={f"{DV}/api/datasets/:persistentId/?persistentId=doi:10.5072/FK2/ABCDEF": DV_DOC},
        expected={"readme.txt": (10, {"md5": MD5}), "raw/2021/data.bin": (20, {"sha256": SHA256})},
        parse=lambda doc: dataverse.parse_dataset(doc, DV), templates=[DV_DOC],
    ),
    AdapterCase(
        name="figshare", adapter=figshare.ADAPTER,
        accept=[
            Form("https://figshare.com/articles/dataset/Test_data/14763051", "10.6084/m9.figshare.14763051.v1",
                 "14763051@1", figshare.FIGSHARE_API),
            Form("https://figshare.com/articles/RAIN_v1/4234751/1", None, "4234751@1", figshare.FIGSHARE_API),
            Form("https://plos.figshare.com/articles/dataset/Transcriptome/123456", None, "123456", figshare.FIGSHARE_API),
            Form("https://figshare.com/collections/Birds/5550/2", None, "collection:5550@2", figshare.FIGSHARE_API),
            Form("https://data.4tu.nl/articles/_/12689204/1", None, "12689204@1", figshare.FOURTU_API),
        ],
        reject=[Form("https://figshare.com/"), Form("https://example.org/articles/foo/123"),
                Form("https://zenodo.org/records/1")],
        ref=RecordRef("figshare", figshare.FIGSHARE_API, "14763051", "Figshare"),
        resolved=_resolved("https://figshare.com/articles/dataset/Test_data/14763051", "10.6084/m9.figshare.14763051"),
        routes={"https://api.figshare.com/v2/articles/14763051": FS_ARTICLE},
        expected={"a.txt": (10, {"md5": MD5}), "b.txt": (20, {"md5": MD5B})},
        parse=figshare.parse_article, templates=[FS_ARTICLE],
    ),
    AdapterCase(
        name="dryad", adapter=dryad.ADAPTER,
        accept=[
            Form(f"https://datadryad.org/dataset/doi:{DRYAD_DOI}", DRYAD_DOI, DRYAD_DOI, dryad.DRYAD),
            Form(f"http://datadryad.org/stash/dataset/doi:{DRYAD_DOI}", None, DRYAD_DOI, dryad.DRYAD),
            Form("https://doi.org/10.5061/DRYAD.ABC123", "10.5061/DRYAD.ABC123", DRYAD_DOI, dryad.DRYAD),
        ],
        reject=[Form("https://datadryad.org/search?q=x"), Form("https://zenodo.org/records/1"),
                Form("https://example.org/dataset/doi:10.5061/dryad.x")],
        ref=RecordRef("dryad", dryad.DRYAD, DRYAD_DOI, "Dryad"),
        resolved=_resolved(f"https://datadryad.org/dataset/doi:{DRYAD_DOI}", DRYAD_DOI),
        routes={dryad.dataset_url(dryad.DRYAD, DRYAD_DOI): DRYAD_DS,
                "https://datadryad.org/api/v2/versions/77/files": DRYAD_P1,
                "https://datadryad.org/api/v2/versions/77/files?page=2": DRYAD_P2},
        expected={"a.csv": (10, {"md5": MD5}), "b.csv": (20, {"sha256": SHA256})},
        parse=lambda doc: dryad.parse_files_page(doc), templates=[DRYAD_P1, DRYAD_P2],
    ),
    AdapterCase(
        name="osf", adapter=osf.ADAPTER,
        accept=[
            Form("https://osf.io/kq573/", "10.17605/OSF.IO/KQ573", "kq573", osf.OSF_API),
            Form("https://osf.io/9x6ca/files/osfstorage", None, "9x6ca", osf.OSF_API),
            Form("https://doi.org/10.17605/OSF.IO/9X6CA", "10.17605/OSF.IO/9X6CA", "9x6ca", osf.OSF_API),
        ],
        reject=[Form("https://osf.io/"), Form("https://osf.io/preprints/psyarxiv/abcde"), Form("https://osf.io/login"),
                Form("https://zenodo.org/records/1")],
        ref=RecordRef("osf", osf.OSF_API, "kq573", "OSF"),
        resolved=_resolved("https://osf.io/kq573/", "10.17605/OSF.IO/KQ573"),
        routes={f"{OSF_API}/nodes/kq573/": OSF_NODE,
                f"{OSF_API}/nodes/kq573/files/?page[size]=100": OSF_PROVIDERS,
                f"{OSF_API}/nodes/kq573/files/osfstorage/?page[size]=100": OSF_ROOT,
                f"{OSF_API}/nodes/kq573/files/osfstorage/f1/?page[size]=100": OSF_SUB,
                f"{OSF_API}/nodes/kq573/children/?page[size]=100": {"data": [], "links": {"next": None}}},
        expected={"a.xlsx": (10, {"md5": MD5, "sha256": SHA256}), "sub/b.sh": (20, {"md5": MD5, "sha256": SHA256})},
        parse=osf.parse_listing, templates=[OSF_ROOT, OSF_PROVIDERS, OSF_SUB],
    ),
    AdapterCase(
        name="b2share", adapter=b2share.ADAPTER,
        accept=[
            Form(f"https://b2share.eudat.eu/records/{B2_ID}", f"10.23728/b2share.{B2_ID}", B2_ID, B2),
            Form(f"https://trng-b2share.eudat.eu/api/records/{B2_ID}", None, B2_ID, "https://trng-b2share.eudat.eu"),
            Form("https://doi.org/x", f"10.23728/B2SHARE.{B2_ID.upper()}", B2_ID, B2),
            Form("https://b2share.eudat.eu/records/abcd1-ef234", None, "abcd1-ef234", B2, exclusive=False),
        ],
        reject=[Form("https://b2share.eudat.eu/communities"), Form("https://zenodo.org/records/1"),
                Form(f"https://example.org/records/{B2_ID}")],
        ref=RecordRef("b2share", B2, B2_ID, "B2SHARE"),
        resolved=_resolved(f"{B2}/records/{B2_ID}", f"10.23728/b2share.{B2_ID}"),
        routes={f"{B2}/api/records/{B2_ID}": B2_RECORD},
        expected={"a b.txt": (10, {"md5": MD5}), "dir/c.txt": (20, {"md5": MD5B})},
        parse=b2share.parse_record, templates=[B2_RECORD],
    ),
]

MD_ID = "p6wmtv6t5g"
MD_API = f"{mendeley.MENDELEY}/public-api/datasets/{MD_ID}"
SHA256B = "cd" * 32


def md_file(fid: str, name: str, size: int, digest: str) -> dict[str, Any]:
    return {"filename": name, "id": fid, "size": size, "status": "COMPLETED",
            "content_details": {"id": f"c-{fid}", "sha256_hash": digest, "content_type": "text/plain", "size": size,
                                "download_url": f"{mendeley.MENDELEY}/public-files/datasets/{MD_ID}/files/{fid}"
                                                "/file_downloaded"}}


MD_ROOT = [md_file("u1", "a b.txt", 10, SHA256)]
MD_DOC = {"id": MD_ID, "name": "Sea turtle strandings", "version": 2, "doi": {"id": f"10.17632/{MD_ID}.2"},
          "publish_date": "2020-01-02T00:00:00.000Z", "contributors": [{"first_name": "Ann", "last_name": "Lee"}],
          "data_licence": {"short_name": "CC BY 4.0"}, "files": MD_ROOT}
MD_FOLDERS = [{"id": "f1", "name": "raw"}, {"id": "f2", "name": "2019", "parent_id": "f1"}]
MD_SUB = [md_file("u2", "c.txt", 20, SHA256B)]


def md_parse(doc: Any) -> object:
    """Mendeley's pure parsers: a list is a folder or file listing, anything else a dataset document."""
    return (mendeley.folder_paths(doc), mendeley.parse_files(doc)) if isinstance(doc, list) \
        else mendeley.parse_manifest(doc)


PG_URL = f"{pangaea.PANGAEA}/10.1594/PANGAEA.954547"
PG_DOC = {"@context": "http://schema.org/", "@type": "Dataset",
          "identifier": "https://doi.org/10.1594/PANGAEA.954547",
          "url": PG_URL, "name": "Age model", "creator": [{"@type": "Person", "name": "Ann Lee", "familyName": "Lee",
                                                           "givenName": "Ann"}],
          "datePublished": "2023-02-06", "license": "https://creativecommons.org/licenses/by/4.0/",
          "conditionsOfAccess": "unrestricted", "isAccessibleForFree": True,
          "size": {"@type": "QuantitativeValue", "value": 360, "unitText": "data points"},
          "distribution": [{"@type": "DataDownload", "encodingFormat": "text/html",
                            "contentUrl": f"{PG_URL}?format=html"},
                           {"@type": "DataDownload", "encodingFormat": "text/plain",
                            "contentUrl": "https://download.pangaea.de/dataset/954547/files/a%20b.txt"},
                           {"@type": "DataDownload", "encodingFormat": "text/tab-separated-values",
                            "contentUrl": "https://download.pangaea.de/dataset/954547/files/Gubbio_age.tab"}]}

CASES += [
    AdapterCase(
        name="mendeley", adapter=mendeley.ADAPTER,
        accept=[
            Form(f"https://data.mendeley.com/datasets/{MD_ID}/2", f"10.17632/{MD_ID}.2", f"{MD_ID}@2",
                 mendeley.MENDELEY),
            Form(f"https://data.mendeley.com/datasets/{MD_ID}", None, MD_ID, mendeley.MENDELEY),
            Form(f"https://doi.org/10.17632/{MD_ID.upper()}", f"10.17632/{MD_ID.upper()}", MD_ID, mendeley.MENDELEY),
            Form(f"https://data.mendeley.com/datasets/{MD_ID}/3/files/0a1b", None, f"{MD_ID}@3", mendeley.MENDELEY),
        ],
        reject=[Form("https://data.mendeley.com/"), Form("https://data.mendeley.com/research-data/?search=turtle"),
                Form(f"https://example.org/datasets/{MD_ID}/2"), Form("https://zenodo.org/records/1")],
        ref=RecordRef("mendeley", mendeley.MENDELEY, MD_ID, "Mendeley Data"),
        resolved=_resolved(f"https://data.mendeley.com/datasets/{MD_ID}", f"10.17632/{MD_ID}"),
        routes={MD_API: MD_DOC, f"{MD_API}/folders/2": MD_FOLDERS,
                f"{MD_API}/files?folder_id=root&version=2": MD_ROOT, f"{MD_API}/files?folder_id=f1&version=2": [],
                f"{MD_API}/files?folder_id=f2&version=2": MD_SUB},
        expected={"a b.txt": (10, {"sha256": SHA256}), "raw/2019/c.txt": (20, {"sha256": SHA256B})},
        parse=md_parse, templates=[MD_DOC, MD_FOLDERS, MD_SUB],
    ),
    AdapterCase(
        name="pangaea", adapter=pangaea.ADAPTER,
        accept=[
            Form(PG_URL, "10.1594/PANGAEA.954547", "954547", pangaea.PANGAEA),
            Form(f"{pangaea.PANGAEA}/10.1594/PANGAEA.954543?format=html", None, "954543", pangaea.PANGAEA),
            Form("https://doi.org/10.1594/pangaea.842237", "10.1594/pangaea.842237", "842237", pangaea.PANGAEA),
        ],
        reject=[Form("https://www.pangaea.de/?q=gubbio"), Form("https://doi.pangaea.de/"),
                Form("https://example.org/10.1594/PANGAEA.954547"), Form("https://zenodo.org/records/1")],
        ref=RecordRef("pangaea", pangaea.PANGAEA, "954547", "PANGAEA"),
        resolved=_resolved(PG_URL, "10.1594/PANGAEA.954547"),
        routes={f"{PG_URL}?format=metadata_jsonld": PG_DOC},
        expected={"a b.txt": (None, {}), "Gubbio_age.tab": (None, {})},
        parse=pangaea.parse_jsonld, templates=[PG_DOC],
    ),
]
FORMS = [(case, form) for case in CASES for form in case.accept]
CROSS = [(case, other.name, form) for case in CASES for other in CASES if other is not case
         for form in other.accept if form.exclusive]


# --- recognition -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case, form", FORMS, ids=[f"{c.name}:{f.url[:60]}" for c, f in FORMS])
def test_recognises_its_forms(case: AdapterCase, form: Form) -> None:
    ref = case.adapter.recognize(form.resolved())
    assert ref is not None, form
    assert ref.adapter == case.adapter.name == case.name
    assert (ref.record_id, ref.api_base) == (form.record_id, form.api_base)
    assert ref.repository


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rejects_foreign_forms(case: AdapterCase) -> None:
    for form in case.reject:
        assert case.adapter.recognize(form.resolved()) is None, form
    for junk in ("", "not a url", "ftp://example.org/x", "https://[::1/x", "https://example.org/"):
        assert case.adapter.recognize(_resolved(junk)) is None


@pytest.mark.parametrize("case, other, form", CROSS, ids=[f"{c.name}-vs-{o}:{f.url[:40]}" for c, o, f in CROSS])
def test_no_claim_on_other_adapters_forms(case: AdapterCase, other: str, form: Form) -> None:
    assert case.adapter.recognize(form.resolved()) is None


# --- listing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=str)
def test_lists_files_with_sizes_and_checksums(case: AdapterCase) -> None:
    seen: list[str] = []
    manifest = run_list(case.adapter, serve(case.routes, seen), case.ref, case.resolved)
    got = {f.path: (f.size, dict(f.checksums)) for f in manifest.files}
    assert got == case.expected
    for f in manifest.files:
        assert f.urls and all(re.match(r"^https?://[^\s]+$", u) for u in f.urls), f
        assert f.access == "open"
    assert manifest.dataset.doi == case.resolved.doi
    assert manifest.dataset.repository == case.ref.repository
    assert {route_key(u) for u in seen} <= {route_key(u) for u in case.routes}  # only API documents
    assert not {route_key(u) for f in manifest.files for u in f.urls} & {route_key(u) for u in seen}  # never bytes
    json.dumps(manifest.to_json())


@pytest.mark.parametrize("case", CASES, ids=str)
def test_missing_record_is_record_not_found(case: AdapterCase) -> None:
    with pytest.raises(RecordNotFound):
        run_list(case.adapter, serve({}), case.ref, case.resolved)


@pytest.mark.parametrize("status", [500, 503, 400])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_api_error_is_repository_error(case: AdapterCase, status: int) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="Internal error")

    with pytest.raises(RepositoryError) as info:
        run_list(case.adapter, fail, case.ref, case.resolved)
    assert not isinstance(info.value, RecordNotFound)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_not_json_is_repository_error(case: AdapterCase) -> None:
    with pytest.raises(RepositoryError):
        run_list(case.adapter, lambda r: httpx.Response(200, text="<html>maintenance</html>"), case.ref, case.resolved)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_datacite_metadata_fills_gaps(case: AdapterCase) -> None:
    from doi2data.model import Dataset
    meta = Dataset(doi=case.resolved.doi, title="DataCite title", publisher="DataCite publisher", version="9",
                   creators=("X, Y",))
    resolved = Resolved(case.resolved.identifier, case.resolved.doi, case.resolved.landing_url, meta)
    ds = run_list(case.adapter, serve(case.routes), case.ref, resolved).dataset
    assert ds.title and ds.title != "DataCite title"  # the repository's own metadata wins
    assert ds.publisher  # filled from DataCite when the repository has none


# --- fuzzing: only Doi2DataError, never KeyError/TypeError ----------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_VALUES = _json | st.sampled_from(["", "/", "http://", "md5:zz", "doi:", "SHA-1", "file", "folder", "deleted", "..",
                                   "https://[::1", -1, 2**70, True, [], {}])


def _mutate(doc: Any, rnd: random.Random, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in list(items):
            nodes.append((node, k))
            walk(v)

    walk(doc)
    if not nodes:
        return value
    parent, key = rnd.choice(nodes)
    if isinstance(parent, dict) and rnd.random() < 0.2:
        del parent[key]
    else:
        parent[key] = value
    return doc


def _only_ours(call: Callable[[], object]) -> None:
    try:
        result = call()
    except Doi2DataError:
        return
    if isinstance(result, Manifest):
        json.dumps(result.to_json())


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_json)
def test_parser_random_json(case: AdapterCase, doc: Any) -> None:
    _only_ours(lambda: case.parse(doc))


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), value=_VALUES, rounds=st.integers(1, 3), pick=st.integers(0, 9))
def test_parser_mutated_templates(case: AdapterCase, rnd: random.Random, value: Any, rounds: int, pick: int) -> None:
    doc = case.templates[pick % len(case.templates)]
    for _ in range(rounds):
        doc = _mutate(doc, rnd, value)
    _only_ours(lambda: case.parse(doc))


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), value=_VALUES)
def test_list_files_on_mutated_answers(case: AdapterCase, rnd: random.Random, value: Any) -> None:
    """Every API document mutated in flight: list_files still raises only our errors."""
    routes = {url: _mutate(body, rnd, value) if rnd.random() < 0.7 else body for url, body in case.routes.items()}
    _only_ours(lambda: run_list(case.adapter, serve(routes), case.ref, case.resolved))


_URLISH = st.one_of(st.text(max_size=40), st.builds(lambda host, path: f"https://{host}/{path}",
                                                     st.sampled_from(["dataverse.harvard.edu", "figshare.com", "osf.io",
                                                                      "datadryad.org", "b2share.eudat.eu", "data.4tu.nl",
                                                                      "data.mendeley.com", "doi.pangaea.de",
                                                                      "[::1", "x.org:99999"]),
                                                     st.text(max_size=40)))


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=50, deadline=None)
@given(url=_URLISH, doi=st.none() | st.text(max_size=30) | st.from_regex(r"10\.\d{4,5}/[a-zA-Z0-9./:_-]{1,20}", fullmatch=True))
def test_recognize_never_raises(case: AdapterCase, url: str, doi: str | None) -> None:
    ref = case.adapter.recognize(Resolved(identifier=doi or url, doi=doi, landing_url=url, metadata=None))
    assert ref is None or (ref.adapter == case.name and ref.api_base.startswith(("http://", "https://")) and ref.record_id)
