"""Figshare (and 4TU.ResearchData) articles: versions, a folder, a link-only file, a collection, a
portal DOI found only via ``?doi=``, and 4TU's UUID flavour. Rendered by
:mod:`doi2data.sandbox.sites.figshare`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import Creator, FileSpec
from .common import _bin, _csv, _text, uid
from .dataverse import _DV_PEOPLE

FIGSHARE_STORAGE = "s3-eu-west-1.amazonaws.example"
#: Where a Figshare link-only file points (a host outside every repository: an HTML page).
LINK_ONLY_HOST = "archive.ocean-data.example"


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


__all__ = ["FIGSHARE_ARTICLES", "FIGSHARE_STORAGE", "FOURTU", "LINK_ONLY_HOST", "OCEAN", "OCEAN_COLLECTION", "TIDES",
           "FsArticle", "FsCollection", "FsFile", "FsVersion", "fourtu_file_uuid"]
