"""Datasets on the general-purpose repositories: Dataverse, Figshare (and 4TU), Dryad, OSF, B2SHARE.

Each repository's model is a few frozen dataclasses holding :class:`~doi2data.sandbox.world.FileSpec`
(explicit seeds, so the bytes are the world's deterministic generator and nothing is stored). The
DOIs are :data:`EXTERNAL` entries of the world, so doi.org, hdl.handle.net and DataCite resolve them
to the landing URLs the real services register; the emulators in ``sites/{dataverse,figshare,dryad,
osf,b2share}.py`` render these models in each service's wire format (see their docstrings).

Each dataset exists for one real-world situation: Dataverse versions, folders, SHA-1/SHA-256/SHA-512
checksums, an ingested tabular file (the ``format=original`` trap), a restricted file behind a
signed-URL redirect, a file-level DOI and an installation on a host no table lists; Figshare
versions, a folder, a link-only file, a collection, a portal DOI found only via ``?doi=``, and
4TU's UUID flavour; Dryad's HAL chain with paging and a deleted file; OSF nested folders and a
folder of 105 files (two pages even at ``page[size]=100``); B2SHARE inline files, files only in the
bucket, and a closed record. :class:`SignedStorage` is the S3-style host several services redirect to.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from .middleware import site_flags
from .sites.common import Entity, EntityResponse
from .world import Creator, ExternalDataset, FileSpec, World

_NS = uuid.UUID("0c3f7d52-8b1e-4f7a-9d0e-5a6b7c8d9e10")
_SECRET = b"doi2data-sandbox-presign"

#: The API token Dataverse accepts (``X-Dataverse-key`` header or ``?key=``) for restricted files.
DATAVERSE_TOKEN = "5b1d0c4e-sandbox-dataverse-token"
HARVARD = "dataverse.harvard.edu"
UNKNOWN_DATAVERSE = "data.unknown-institute.example"
DVN_STORAGE = "dvn-cloud.s3.amazonaws.example"
FIGSHARE_STORAGE = "s3-eu-west-1.amazonaws.example"
DRYAD_STORAGE = "dryad-assetstore.s3.us-west-2.amazonaws.example"
#: Where a Figshare link-only file points (a host outside every repository: an HTML page).
LINK_ONLY_HOST = "archive.ocean-data.example"


def uid(*parts: object) -> str:
    """A stable uuid from ``parts`` (buckets, 4TU file uuids, version ids)."""
    return str(uuid.uuid5(_NS, ":".join(map(str, parts))))


def hexid(*parts: object, length: int = 24) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:length]


def _text(key: str, seed: str, words: str, mimetype: str = "text/plain") -> FileSpec:
    return FileSpec(key, mimetype=mimetype, data=f"{words}\n".encode(), seed=seed)


def _bin(key: str, size: int, seed: str, mimetype: str = "application/octet-stream") -> FileSpec:
    return FileSpec(key, size, mimetype, seed=seed)


def _rows(seed: str, count: int, sep: str) -> list[str]:
    raw = hashlib.shake_256(seed.encode()).digest(count * 4)
    return [sep.join((f"st{raw[i] % 40:02d}", f"2019-{raw[i + 1] % 12 + 1:02d}-{raw[i + 2] % 28 + 1:02d}",
                      f"{(raw[i + 3] - 40) / 4:.2f}")) for i in range(0, count * 4, 4)]


def _csv(key: str, seed: str, count: int) -> FileSpec:
    return FileSpec(key, mimetype="text/csv", data=("station,date,temp_c\n" + "\n".join(_rows(seed, count, ","))
                                                   + "\n").encode(), seed=seed)


def http_stamp(day: str) -> datetime:
    """``2021-06-15`` -> an aware datetime (Last-Modified of files published that day)."""
    return datetime.fromisoformat(day[:10]).replace(hour=16, minute=1, second=47, tzinfo=timezone.utc)


def file_entity(world: World, spec: FileSpec, modified: datetime, scope: Any, *, filename: str | None = None,
                content_type: str | None = None) -> Entity:
    """The Range-capable representation of ``spec``; the ``change`` quirk gives new bytes/ETag/date."""
    variant = 1 if site_flags(scope).change else 0
    stamp = modified + timedelta(days=variant)
    return Entity(size=spec.size, etag=f'"{world.digest(spec, "md5", variant)}"', last_modified=stamp,
                  content_type=content_type or spec.mimetype, filename=filename,
                  chunks=lambda start, end: world.content(spec, start, end, variant))


# -- Dataverse -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DvFile:
    """A Dataverse file; ``spec.key`` is the dataset path (``directoryLabel/name``) a client saves.

    ``tabular`` files are ingested: listed as ``<stem>.tab`` (``filesize`` of the stored TSV), while
    ``md5``/``originalFileSize`` describe ``spec`` - the original, served only with ``format=original``.
    """

    id: int
    spec: FileSpec
    pid: str = ""               # file DOI ("" where file PIDs are off, as recorded)
    checksum: str = "MD5"       # MD5 | SHA-1 | SHA-256 | SHA-512
    restricted: bool = False
    tabular: bool = False
    description: str = ""

    @property
    def directory(self) -> str:
        return self.spec.key.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.spec.key.rpartition("/")[2]

    @property
    def label(self) -> str:
        return self.name.rpartition(".")[0] + ".tab" if self.tabular else self.name

    def stored_tab(self) -> bytes:
        """The ingested TSV as stored (no header row): its length is the listed ``filesize``."""
        return ("\n".join(_rows(self.spec.seed + "#tab", 40, "\t")) + "\n").encode()

    def derived(self) -> FileSpec:
        """What a plain ``/api/access/datafile/<id>`` serves for an ingested file: header row + TSV."""
        return FileSpec(self.label, mimetype="text/tab-separated-values", seed=self.spec.seed + "#tsv",
                        data=b'"station"\t"date"\t"temp_c"\n' + self.stored_tab())


@dataclass(frozen=True)
class DvVersion:
    number: int
    minor: int
    released: str
    files: tuple[DvFile, ...]
    id: int = 0

    @property
    def label(self) -> str:
        return f"{self.number}.{self.minor}"


@dataclass(frozen=True)
class DvDataset:
    host: str
    doi: str
    id: int
    title: str
    creators: tuple[Creator, ...]
    publisher: str
    versions: tuple[DvVersion, ...]          # oldest first
    landing: Literal["citation", "dataset.xhtml"] = "citation"
    shape: Literal["5", "6"] = "5"           # 6.x adds datasetType, tabularData, publicationDate ...
    redirect: bool = True                    # 303 to signed storage (Harvard since 2021) or serve directly
    license: str = "CC0 1.0"

    @property
    def authority(self) -> str:
        return self.doi.partition("/")[0]

    @property
    def identifier(self) -> str:
        return self.doi.partition("/")[2]

    @property
    def latest(self) -> DvVersion:
        return self.versions[-1]

    @property
    def landing_url(self) -> str:
        return f"https://{self.host}/{self.landing}?persistentId=doi:{self.doi}"

    def files(self) -> dict[int, DvFile]:
        return {f.id: f for v in self.versions for f in v.files}


_DV_PEOPLE = (Creator("Mwangi", "Grace", "University of Nairobi"), Creator("Fischer", "Jonas", "GESIS"))
_README_DV1 = _text("README.txt", "dv:sbx0a1:readme:1", "Household survey 2019, version 1.0.\nSee docs/codebook.pdf.")
_README_DV2 = _text("README.txt", "dv:sbx0a1:readme:2",
                    "Household survey 2019, version 2.0.\nAdds the analysis code, the regional map and the "
                    "restricted respondent file (request access).")
_SURVEY = DvFile(9000111, _csv("data/survey_2019.csv", "dv:sbx0a1:survey", 300), "10.7910/DVN/SBX0A1/T4BQ9Z",
                 tabular=True, description="Survey responses (ingested)")
_CODEBOOK = DvFile(9000112, _bin("docs/codebook.pdf", 300_001, "dv:sbx0a1:codebook", "application/pdf"),
                   "10.7910/DVN/SBX0A1/CB7Q2X", description="Codebook")
HARVARD_DATASET = DvDataset(
    HARVARD, "10.7910/DVN/SBX0A1", 9000101, "Sandbox household survey (Dataverse)", _DV_PEOPLE, "Harvard Dataverse",
    versions=(
        DvVersion(1, 0, "2020-03-02", (DvFile(9000110, _README_DV1, "10.7910/DVN/SBX0A1/R1DM3A"), _SURVEY, _CODEBOOK),
                  id=700101),
        DvVersion(2, 0, "2021-06-15", (
            DvFile(9000120, _README_DV2, "10.7910/DVN/SBX0A1/R2DM4B"), _SURVEY, _CODEBOOK,
            DvFile(9000121, _text("code/analysis.py", "dv:sbx0a1:code", "import pandas as pd\nprint('survey')",
                                  "text/x-python"), "10.7910/DVN/SBX0A1/AN5PY1", checksum="SHA-1"),
            DvFile(9000122, _bin("images/maps/region_map.tif", 1_200_007, "dv:sbx0a1:map", "image/tiff"),
                   "10.7910/DVN/SBX0A1/MP6TF2", checksum="SHA-256"),
            DvFile(9000123, _bin("restricted/respondents_raw.dat", 40_009, "dv:sbx0a1:secret"),
                   "10.7910/DVN/SBX0A1/RS7DT3", restricted=True, description="Identifiable responses"),
        ), id=700102),
    ))
#: A file-level DOI (Harvard registers one per file): resolves to ``file.xhtml?persistentId=``.
HARVARD_FILE_DOI = _CODEBOOK.pid
UNKNOWN_DV_DATASET = DvDataset(
    UNKNOWN_DATAVERSE, "10.80123/UI/7Q2XPL", 412, "Sandbox wind-tunnel runs (institutional Dataverse)",
    _DV_PEOPLE[1:], "Unknown Institute Research Data", landing="dataset.xhtml", shape="6", redirect=False,
    license="CC BY 4.0",
    versions=(DvVersion(1, 0, "2024-05-06", (
        DvFile(501, _text("README.md", "dv:ui:readme", "# Wind-tunnel runs\nTwo runs, one summary sheet.",
                          "text/markdown")),
        DvFile(502, _bin("measurements/run_01.h5", 700_001, "dv:ui:run1", "application/x-hdf5"), checksum="SHA-512"),
        DvFile(503, _bin("measurements/run_02.h5", 500_003, "dv:ui:run2", "application/x-hdf5"), checksum="SHA-256"),
        DvFile(504, _bin("summary.xlsx", 20_011, "dv:ui:summary",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), tabular=True),
    ), id=88),))
DATAVERSE_DATASETS = (HARVARD_DATASET, UNKNOWN_DV_DATASET)


# -- Figshare and 4TU.ResearchData ----------------------------------------------------------------
@dataclass(frozen=True)
class FsFile:
    """A Figshare file; ``spec.key`` is ``folder/name`` (``folder_structure``) or the name."""

    id: int
    spec: FileSpec
    link: str | None = None     # link-only: points off-site, size 0, no md5

    @property
    def name(self) -> str:
        return self.spec.key.rpartition("/")[2]

    @property
    def folder(self) -> str:
        return self.spec.key.rpartition("/")[0]


@dataclass(frozen=True)
class FsVersion:
    version: int
    published: str              # 2021-06-10T14:45:37Z
    files: tuple[FsFile, ...]


@dataclass(frozen=True)
class FsArticle:
    id: int
    title: str
    creators: tuple[Creator, ...]
    versions: tuple[FsVersion, ...]         # oldest first
    api: str = "https://api.figshare.com"   # or https://data.4tu.nl (djehuty: uuids, id null)
    uuid: str | None = None
    doi_override: str | None = None         # a portal's own DOI (not 10.6084)
    landing: str | None = None              # what that DOI points to
    license: str = "CC BY 4.0"

    @property
    def key(self) -> str:
        return self.uuid or str(self.id)

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.title)

    def doi(self, version: int | None = None) -> str:
        if self.doi_override:
            return self.doi_override
        if self.uuid:
            return f"10.4121/{self.uuid}" + (f".v{version}" if version else "")
        return f"10.6084/m9.figshare.{self.id}" + (f".v{version}" if version else "")

    def url(self, version: int | None = None) -> str:
        v = version or self.versions[-1].version
        if self.uuid:
            return f"https://data.4tu.nl/datasets/{self.uuid}/{v}"
        return f"https://figshare.com/articles/dataset/{self.slug}/{self.id}/{v}"


@dataclass(frozen=True)
class FsCollection:
    id: int
    title: str
    articles: tuple[int, ...]
    published: str = "2022-02-01T10:00:00Z"

    @property
    def doi(self) -> str:
        return f"10.6084/m9.figshare.c.{self.id}"

    @property
    def url(self) -> str:
        return f"https://figshare.com/collections/{self.title.replace(' ', '_')}/{self.id}"


_FS_PEOPLE = (Creator("Tanaka", "Yuki", "JAMSTEC", "0000-0002-1694-233X"), Creator("Olsen", "Erik", "NORCE"))
_PROFILES_README = "# Ocean temperature profiles\n"
OCEAN = FsArticle(30000001, "Sandbox ocean temperature profiles", _FS_PEOPLE, versions=(
    FsVersion(1, "2021-06-10T14:45:37Z", (
        FsFile(40000011, _bin("profiles.nc", 900_001, "fs:ocean:profiles:1", "application/x-netcdf")),
        FsFile(40000012, _text("README.md", "fs:ocean:readme:1", _PROFILES_README + "v1: one netCDF file.",
                               "text/markdown")))),
    FsVersion(2, "2022-01-20T09:12:03Z", (
        FsFile(40000021, _bin("profiles.nc", 1_100_003, "fs:ocean:profiles:2", "application/x-netcdf")),
        FsFile(40000022, _text("README.md", "fs:ocean:readme:2", _PROFILES_README + "v2: more casts, raw CTD data.",
                               "text/markdown")),
        FsFile(40000023, _csv("raw/2019/ctd_cast_01.csv", "fs:ocean:ctd", 120)),
        FsFile(40000024, FileSpec("full_archive.tar", 0, "application/x-tar", seed="fs:ocean:link"),
               link=f"https://{LINK_ONLY_HOST}/ocean/full_archive.tar"))),
))
TIDES = FsArticle(30000002, "Sandbox tide gauge records", _FS_PEOPLE[1:], versions=(
    FsVersion(1, "2022-01-25T11:00:00Z", (
        FsFile(40000031, _csv("tide_gauges.csv", "fs:tides:csv", 200)),
        FsFile(40000032, _text("stations.json", "fs:tides:stations", '{"stations": ["st01", "st02"]}',
                               "application/json")))),),
    doi_override="10.80125/sbx.tidegauges", landing="https://sandbox-uni.figshare.com/s/3f1b9c0d2a7e6b5c4d3e")
FOURTU = FsArticle(0, "Sandbox wind measurements (4TU)", _DV_PEOPLE[:1], api="https://data.4tu.nl",
                   uuid="5f2d7c3e-9a41-4b8e-a0c6-2e7d1f3b9a55", license="CC0", versions=(
                       FsVersion(1, "2023-03-14T08:00:00Z", (
                           FsFile(0, _csv("wind_speed.csv", "4tu:wind:csv", 250)),
                           FsFile(0, _bin("setup.pdf", 150_001, "4tu:wind:setup", "application/pdf")))),))
OCEAN_COLLECTION = FsCollection(30000100, "Sandbox ocean collection", (OCEAN.id, TIDES.id))
FIGSHARE_ARTICLES = (OCEAN, TIDES, FOURTU)


def fourtu_file_uuid(article: FsArticle, f: FsFile) -> str:
    return uid("4tu", article.key, f.spec.key)


# -- Dryad -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DryadFile:
    id: int
    spec: FileSpec
    digest_type: Literal["md5", "sha-256"] | None = "md5"
    status: Literal["created", "copied", "deleted"] = "created"


@dataclass(frozen=True)
class DryadVersion:
    id: int
    number: int
    date: str
    files: tuple[DryadFile, ...]


@dataclass(frozen=True)
class DryadDataset:
    doi: str
    id: int
    title: str
    creators: tuple[Creator, ...]
    versions: tuple[DryadVersion, ...]      # oldest first

    @property
    def landing_url(self) -> str:
        return f"https://datadryad.org/dataset/doi:{self.doi}"


_DRYAD_DATA = _csv("occurrences.csv", "dryad:sbx:occ", 400)
DRYAD_DATASET = DryadDataset("10.5061/dryad.sbx7h44j0", 170001, "Sandbox beetle occurrences (Dryad)",
                             (Creator("Silva", "Ana", "Universidade de Lisboa"),), versions=(
    DryadVersion(310001, 1, "2020-05-11", (DryadFile(66001, _DRYAD_DATA),
                                           DryadFile(66002, _text("README.md", "dryad:sbx:readme:1", "v1")))),
    DryadVersion(310002, 2, "2021-02-03", (
        DryadFile(66101, _text("README.md", "dryad:sbx:readme:2", "v2: adds traits, tracks and figures")),
        DryadFile(66102, _DRYAD_DATA, status="copied"),
        DryadFile(66103, _csv("traits.csv", "dryad:sbx:traits", 150), "sha-256"),
        DryadFile(66104, _bin("fig1.png", 90_001, "dryad:sbx:fig1", "image/png"), None),
        DryadFile(66105, _text("model.R", "dryad:sbx:model", "fit <- glm(y ~ x)", "text/plain")),
        DryadFile(66106, _bin("tracks.bin", 1_000_003, "dryad:sbx:tracks")),
        DryadFile(66107, _text("old_notes.txt", "dryad:sbx:old", "removed in v2"), status="deleted"),
    )),
))


# -- OSF -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OsfFile:
    spec: FileSpec              # key = materialized path without the leading "/"
    guid: str | None = None

    @property
    def id(self) -> str:
        return hexid("osf-file", self.spec.seed)


@dataclass(frozen=True)
class OsfNode:
    guid: str
    title: str
    created: str
    files: tuple[OsfFile, ...]
    category: str = "project"

    @property
    def doi(self) -> str:
        return f"10.17605/OSF.IO/{self.guid.upper()}"

    def folders(self) -> list[str]:
        """Every folder path (``raw/``, ``raw/run1/``), parents first."""
        found = {"/".join(f.spec.key.split("/")[:i]) + "/" for f in self.files
                 for i in range(1, f.spec.key.count("/") + 1)}
        return sorted(found, key=lambda p: (p.count("/"), p))


OSF_NODE = OsfNode("sbx7q", "Sandbox eye-tracking study (OSF)", "2019-08-10T16:33:29.246805", files=(
    OsfFile(_bin("protocol.pdf", 300_007, "osf:sbx7q:protocol", "application/pdf"), guid="pr7tc"),
    OsfFile(_csv("raw/run1/gaze.csv", "osf:sbx7q:run1:gaze", 150)),
    OsfFile(_text("raw/run1/events.json", "osf:sbx7q:run1:events", '{"events": [1, 2, 3]}', "application/json")),
    OsfFile(_csv("raw/run2/gaze.csv", "osf:sbx7q:run2:gaze", 180)),
    *(OsfFile(_text(f"many-files/item-{i:03d}.txt", f"osf:sbx7q:item:{i}", f"item {i}")) for i in range(105)),
))


# -- B2SHARE ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class B2Record:
    id: str                     # 32 hex
    title: str
    creators: tuple[Creator, ...]
    files: tuple[FileSpec, ...]
    open_access: bool = True
    inline_files: bool = True   # False: the record has only links.files (the bucket)
    publication_date: str = "2017-03-02"
    version: str = "1"

    @property
    def bucket(self) -> str:
        return uid("b2share-bucket", self.id)

    @property
    def doi(self) -> str:
        return f"10.23728/b2share.{self.id}"

    @staticmethod
    def epic(spec: FileSpec) -> str:
        return f"11304/{uid('epic', spec.seed)}"


_B2_PEOPLE = (Creator("Nieminen", "Aino", "CSC"), Creator("Rossi", "Marco", "CINECA"))
B2_OPEN = B2Record("0a1b2c3d4e5f40718293a4b5c6d7e8f9", "Sandbox number sequences (B2SHARE)", _B2_PEOPLE, (
    _text("sequence.txt", "b2:open:seq", " ".join(str(n * n) for n in range(200))),
    _bin("spectra_01.dat", 500_003, "b2:open:spectra"),
))
B2_BUCKET_ONLY = B2Record("1b2c3d4e5f6a40718293a4b5c6d7e8f0", "Sandbox record listing files only in its bucket",
                          _B2_PEOPLE[1:], (_text("sequence2.txt", "b2:bucket:seq2", "1 1 2 3 5 8 13 21"),
                                           _bin("matrix.bin", 64_007, "b2:bucket:matrix")),
                          inline_files=False, publication_date="2018-01-15")
B2_CLOSED = B2Record("2c3d4e5f6a7b40718293a4b5c6d7e8f1", "Sandbox closed-access record (B2SHARE)", _B2_PEOPLE[:1],
                     (_bin("patients.csv", 12_001, "b2:closed:patients", "text/csv"),), open_access=False,
                     publication_date="2018-06-01")
B2SHARE_RECORDS = (B2_OPEN, B2_BUCKET_ONLY, B2_CLOSED)


# -- DOIs and handles ------------------------------------------------------------------------------
def _ext(doi: str, url: str, title: str, creators: tuple[Creator, ...], publisher: str, year: int,
         client: tuple[str, str]) -> ExternalDataset:
    return ExternalDataset(doi, url, title, creators, publisher, year, client[0], client[1])


_HARVARD_CLIENT = ("gdcc.harvard-dv", "Harvard Dataverse")
_FIGSHARE_CLIENT = ("figshare.ars", "figshare Academic Research System")


def _external() -> list[ExternalDataset]:
    hv, ui = HARVARD_DATASET, UNKNOWN_DV_DATASET
    out = [
        _ext(hv.doi, hv.landing_url, hv.title, hv.creators, hv.publisher, 2020, _HARVARD_CLIENT),
        _ext(HARVARD_FILE_DOI, f"https://{HARVARD}/file.xhtml?persistentId=doi:{HARVARD_FILE_DOI}",
             "codebook.pdf", hv.creators, hv.publisher, 2020, _HARVARD_CLIENT),
        _ext(ui.doi, ui.landing_url, ui.title, ui.creators, ui.publisher, 2024, ("uiex.rdm", ui.publisher)),
    ]
    for art in (OCEAN,):
        out.append(_ext(art.doi(), art.url(), art.title, art.creators, "figshare", 2021, _FIGSHARE_CLIENT))
        out += [_ext(art.doi(v.version), art.url(v.version), art.title, art.creators, "figshare",
                     int(v.published[:4]), _FIGSHARE_CLIENT) for v in art.versions]
    out.append(_ext(TIDES.doi(), TIDES.landing or "", TIDES.title, TIDES.creators, "Sandbox University", 2022,
                    ("sbxuni.figshare", "Sandbox University figshare portal")))
    out.append(_ext(f"10.4121/uuid:{FOURTU.uuid}", FOURTU.url(1), FOURTU.title, FOURTU.creators,
                    "4TU.ResearchData", 2023, ("delft.data4tu", "4TU.ResearchData")))
    col = OCEAN_COLLECTION
    out.append(_ext(col.doi, col.url, col.title, OCEAN.creators, "figshare", 2022, _FIGSHARE_CLIENT))
    dr = DRYAD_DATASET
    out.append(_ext(dr.doi, dr.landing_url, dr.title, dr.creators, "Dryad", 2021, ("dryad.dryad", "DRYAD")))
    out.append(_ext(OSF_NODE.doi, f"https://osf.io/{OSF_NODE.guid}/", OSF_NODE.title, _DV_PEOPLE[:1],
                    "OSF", 2019, ("cos.osf", "Open Science Framework")))
    out += [_ext(r.doi, f"https://b2share.eudat.eu/records/{r.id}", r.title, r.creators, "EUDAT B2SHARE",
                 int(r.publication_date[:4]), ("eudat.b2share", "B2SHARE")) for r in B2SHARE_RECORDS]
    return out


#: DataCite DOIs of every dataset above (added to the default world).
EXTERNAL: list[ExternalDataset] = _external()
#: Non-DOI handles: B2SHARE's per-file ePIC PIDs -> the bucket URL of the file.
HANDLES: dict[str, str] = {
    B2Record.epic(spec): f"https://b2share.eudat.eu/api/files/{rec.bucket}/{quote(spec.key)}"
    for rec in B2SHARE_RECORDS for spec in rec.files}


# -- signed object storage -------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredObject:
    spec: FileSpec
    modified: datetime
    filename: str
    extra: dict[str, str] = field(default_factory=dict)


class SignedStorage:
    """An S3-style host: objects by key, GET only with a valid presigned query (as recorded for
    ``dvn-cloud.s3.amazonaws.com``: 206 for ranges, ETag = md5, and HEAD -> 403 because the
    signature covers GET only). A request without the signature gets S3's XML 403."""

    def __init__(self, world: World, host: str) -> None:
        self.world, self.host = world, host
        self.objects: dict[str, StoredObject] = {}

    def _signature(self, key: str, expires: str) -> str:
        return hmac.new(_SECRET, f"{self.host}/{key}|{expires}".encode(), hashlib.sha256).hexdigest()

    def put(self, key: str, obj: StoredObject) -> None:
        self.objects[key] = obj

    def presign(self, key: str, *, content_type: str | None = None, when: str = "20240101T000000Z") -> str:
        """A presigned GET URL (``response-content-disposition`` carries the name, as Dataverse sends)."""
        obj = self.objects[key]
        expires = "3600"
        query = {"response-content-disposition": f"attachment; filename*=UTF-8''{quote(obj.filename, safe='')}",
                 "response-content-type": content_type or obj.spec.mimetype,
                 "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Date": when, "X-Amz-SignedHeaders": "host",
                 "X-Amz-Expires": expires, "X-Amz-Credential": f"AKIASANDBOX/{when[:8]}/us-east-1/s3/aws4_request",
                 "X-Amz-Signature": self._signature(key, expires)}
        return f"https://{self.host}/{quote(key)}?{urlencode(query, quote_via=quote)}"

    def app(self) -> Router:
        async def get(request: Request) -> Any:
            key = request.path_params["key"]
            sig, expires = request.query_params.get("X-Amz-Signature"), request.query_params.get("X-Amz-Expires", "")
            if request.method == "HEAD":
                return Response(b"", 403, media_type="application/xml")
            if not sig or not hmac.compare_digest(sig, self._signature(key, expires)):
                return _s3_error(403, "SignatureDoesNotMatch" if sig else "AccessDenied",
                                 "The request signature we calculated does not match the signature you provided.")
            obj = self.objects.get(key)
            if obj is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            entity = file_entity(self.world, obj.spec, obj.modified, request.scope,
                                 content_type=request.query_params.get("response-content-type"))
            headers = {"content-disposition": request.query_params.get("response-content-disposition", "attachment"),
                       "server": "AmazonS3", "x-amz-request-id": hexid(key, length=16).upper(), **obj.extra}
            return EntityResponse(entity, headers)

        return Router(routes=[Route("/{key:path}", get, methods=["GET", "HEAD"])])


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>SANDBOX</RequestId></Error>")
    return Response(body, status, media_type="application/xml")


def make_sites(world: World) -> dict[str, Any]:
    """Host -> ASGI app for every general-repository emulator and their storage hosts."""
    from .sites import b2share, dataverse, dryad, figshare, osf

    sites: dict[str, Any] = {}
    builders: tuple[Callable[[World], dict[str, Any]], ...] = (
        dataverse.make_sites, figshare.make_sites, dryad.make_sites, osf.make_sites, b2share.make_sites)
    for build in builders:
        sites.update(build(world))
    return sites


__all__ = [
    "B2SHARE_RECORDS", "DATAVERSE_DATASETS", "DATAVERSE_TOKEN", "DRYAD_DATASET", "DRYAD_STORAGE", "DVN_STORAGE",
    "EXTERNAL", "FIGSHARE_ARTICLES", "FIGSHARE_STORAGE", "FOURTU", "HANDLES", "HARVARD", "HARVARD_DATASET",
    "HARVARD_FILE_DOI", "LINK_ONLY_HOST", "OCEAN", "OCEAN_COLLECTION", "OSF_NODE", "TIDES", "UNKNOWN_DATAVERSE",
    "UNKNOWN_DV_DATASET", "B2Record", "DryadDataset", "DryadFile", "DryadVersion", "DvDataset", "DvFile",
    "DvVersion", "FsArticle", "FsCollection", "FsFile", "FsVersion", "OsfFile", "OsfNode", "SignedStorage",
    "StoredObject", "file_entity", "fourtu_file_uuid", "hexid", "http_stamp", "uid", "make_sites",
]
