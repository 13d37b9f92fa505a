"""Datasets on Mendeley Data and PANGAEA in the fake internet.

Why these: each reproduces the awkward part of its service. Mendeley Data: two versions of one
dataset (the DOI with ``.1``/``.2`` and the bare one meaning "latest"), files listed per folder
with a folder nested three deep and names with spaces, sha256 per file, downloads redirected to
S3, and an API that answers 403 to anything not looking like a browser. PANGAEA: tables generated
on request (no size, no checksum, no ranges, the name only in ``Content-Disposition``), the two
datasets datahugger tests with (``10.1594/PANGAEA.954547`` -> ``Gubbio_age.tab``, ``.954543`` ->
``AA_age.tab``, sandbox contents), a parent collection shipping its children as one generated zip,
and a login-protected dataset (401 without a token).

Bytes are deterministic: Mendeley files come from the world's generator (explicit seeds), PANGAEA
tables from :func:`table_bytes`. The DOIs are :data:`EXTERNAL` entries, so doi.org and DataCite
resolve them; ``sites/mendeley.py`` and ``sites/pangaea.py`` render the models.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from .world import Creator, ExternalDataset, FileSpec, World

# -- Mendeley Data --------------------------------------------------------------------------------
MENDELEY_STORAGE = "prod-dcd-datasets-public-files-eu-west-1.s3.eu-west-1.amazonaws.example"


@dataclass(frozen=True)
class MdVersion:
    """One published version: ``files`` keyed by their path (folders are the ``/``-separated part)."""

    number: int
    published: str
    files: tuple[FileSpec, ...]
    empty_folders: tuple[str, ...] = ()

    @property
    def folders(self) -> tuple[str, ...]:
        """Every folder path, parents before children."""
        found = set(self.empty_folders)
        for spec in self.files:
            parts = spec.key.split("/")[:-1]
            found.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return tuple(sorted(found, key=lambda p: (p.count("/"), p)))


@dataclass(frozen=True)
class MdDataset:
    id: str
    title: str
    creators: tuple[Creator, ...]
    versions: tuple[MdVersion, ...]
    licence: str = "CC BY 4.0"

    def doi(self, version: int | None = None) -> str:
        return f"10.17632/{self.id}" + (f".{version}" if version else "")

    def landing(self, version: int | None = None) -> str:
        return f"https://data.mendeley.com/datasets/{self.id}" + (f"/{version}" if version else "")

    def version(self, number: int | None) -> MdVersion | None:
        if number is None:
            return self.versions[-1]
        return next((v for v in self.versions if v.number == number), None)


def _bin(seed: str, key: str, size: int, mimetype: str = "application/octet-stream") -> FileSpec:
    return FileSpec(key, size, mimetype, seed=f"{seed}:{key}")


def _rows(seed: str, count: int, header: str, fmt: str) -> bytes:
    raw = hashlib.shake_256(seed.encode()).digest(count * 3)
    lines = [header] + [fmt.format(i=i, a=raw[3 * i], b=raw[3 * i + 1], c=raw[3 * i + 2]) for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _csv(seed: str, key: str, count: int) -> FileSpec:
    data = _rows(f"{seed}:{key}", count, "date,site,species,length_cm",
                 "2019-{a:02d}-{b:02d},site {c},Caretta caretta,{i}")
    return FileSpec(key, mimetype="text/csv", data=data, seed=f"{seed}:{key}")


def _txt(seed: str, key: str, words: str) -> FileSpec:
    return FileSpec(key, mimetype="text/plain", data=f"{words}\n".encode(), seed=f"{seed}:{key}")


_MD_PEOPLE = (Creator("Ferreira", "Luísa", "Universidade do Algarve"), Creator("Costa", "Rui"))
_T1, _T2 = "md-turtle-v1", "md-turtle-v2"
MENDELEY_DATASET = MdDataset("sbx7turtle", "Sandbox sea turtle stranding records (Mendeley Data)", _MD_PEOPLE, (
    MdVersion(1, "2021-03-02T10:11:12.000Z", (
        _bin(_T1, "READ ME stranding records.pdf", 60_001, "application/pdf"),
        _csv(_T1, "strandings.csv", 120))),
    MdVersion(2, "2022-05-10T08:30:00.000Z", (
        _bin(_T2, "READ ME stranding records.pdf", 61_003, "application/pdf"),
        _csv(_T2, "strandings.csv", 200),
        _bin(_T2, "photos/2019/site A/turtle_001.jpg", 90_001, "image/jpeg"),
        _bin(_T2, "photos/2019/site A/turtle_002.jpg", 70_003, "image/jpeg"),
        _txt(_T2, "photos/2019/notes.txt", "photos taken at low tide; site A is the northern beach"),
        _txt(_T2, "code/clean.R", "d <- read.csv('strandings.csv')")), ("empty",)),
))


# -- PANGAEA --------------------------------------------------------------------------------------
#: Bearer token that opens the login-protected PANGAEA dataset (``--token doi.pangaea.de=…``).
PANGAEA_TOKEN = "sandbox-pangaea-token-7f3c"


@dataclass(frozen=True)
class PgDataset:
    """A PANGAEA dataset: a generated table, or (``children``) a collection shipped as a zip."""

    number: int
    title: str
    creators: tuple[Creator, ...]
    published: str
    filename: str                 # what Content-Disposition names the generated file
    rows: int = 0
    children: tuple[int, ...] = ()
    restricted: bool = False
    #: a binary dataset: files kept on ``download.pangaea.de/dataset/<n>/files/<name>``, listed in the
    #: table's ``Binary`` column (name), ``Binary (Size) [Bytes]`` and ``Binary (MD5 Hash)`` columns
    binaries: tuple[FileSpec, ...] = ()

    @property
    def doi(self) -> str:
        return f"10.1594/PANGAEA.{self.number}"

    @property
    def landing(self) -> str:
        return f"https://doi.pangaea.de/{self.doi}"


_PG_PEOPLE = (Creator("Sinnesael", "Matthias"), Creator("Montanari", "Alessandro"), Creator("Weber", "Hanna"))
GUBBIO = PgDataset(954547, "Sandbox age model of the Gubbio section", _PG_PEOPLE[:2], "2023-02-06", "Gubbio_age.tab",
                   rows=180)
AA = PgDataset(954543, "Sandbox age model of the AA section", _PG_PEOPLE[:2], "2023-02-06", "AA_age.tab", rows=95)
AGE_COLLECTION = PgDataset(954549, "Sandbox age models of two sections (collection)", _PG_PEOPLE[:2], "2023-02-07",
                           "Age_models_collection.zip", children=(GUBBIO.number, AA.number))
RESTRICTED_CORE = PgDataset(954550, "Sandbox restricted core measurements (login required)", _PG_PEOPLE[2:],
                            "2024-01-15", "Restricted_core.tab", rows=40, restricted=True)
_SEAFLOOR = "pg-seafloor-images"
SEAFLOOR_IMAGES = PgDataset(954560, "Sandbox seafloor images along an OFOS transect (binary)", _PG_PEOPLE[1:],
                            "2024-06-03", "Seafloor_images.tab", binaries=(
                                _bin(_SEAFLOOR, "PS118_69-1_2019-03-09_0001.jpg", 180_017, "image/jpeg"),
                                _bin(_SEAFLOOR, "PS118_69-1_2019-03-09_0002.jpg", 175_203, "image/jpeg"),
                                _bin(_SEAFLOOR, "PS118_69-1 station log.pdf", 42_001, "application/pdf")))
PANGAEA_DATASETS: tuple[PgDataset, ...] = (GUBBIO, AA, AGE_COLLECTION, RESTRICTED_CORE, SEAFLOOR_IMAGES)
_BY_NUMBER = {d.number: d for d in PANGAEA_DATASETS}


def pangaea_dataset(number: int) -> PgDataset | None:
    return _BY_NUMBER.get(number)


def table_bytes(ds: PgDataset) -> bytes:
    """PANGAEA's textfile: a ``/* DATA DESCRIPTION */`` header, then a tab-separated table."""
    names = "; ".join(f"{c.family}, {c.given}" for c in ds.creators)
    head = (f"/* DATA DESCRIPTION:\nCitation:\t{names} ({ds.published[:4]}): {ds.title}. PANGAEA, "
            f"https://doi.org/{ds.doi}\nLicense:\tCreative Commons Attribution 4.0 International (CC-BY-4.0)\n"
            f"Size:\t{ds.rows * 2} data points\n*/\n")
    if ds.binaries:
        from .world import World

        world = World()
        lines = ["Event\tDate/Time\tBinary\tBinary (Size) [Bytes]\tBinary (MD5 Hash)"]
        lines += [f"PS118_69-1\t2019-03-09T0{i}:00\t{f.key}\t{f.size}\t{world.digest(f, 'md5')}"
                  for i, f in enumerate(ds.binaries)]
        return head.encode() + ("\n".join(lines) + "\n").encode()
    table = _rows(ds.doi, ds.rows, "Depth [m]\tAge [ka BP]", "{i}.{a:02d}\t{b}.{c:03d}")
    return head.encode() + table


def zip_bytes(ds: PgDataset) -> bytes:
    """A collection's zip: each child's table under its file name (fixed dates: same bytes every time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for number in ds.children:
            child = _BY_NUMBER[number]
            zf.writestr(zipfile.ZipInfo(child.filename, (2023, 2, 7, 12, 0, 0)), table_bytes(child),
                        zipfile.ZIP_DEFLATED)
    return out.getvalue()


def generated_bytes(ds: PgDataset) -> bytes:
    return zip_bytes(ds) if ds.children else table_bytes(ds)


# -- DOIs -----------------------------------------------------------------------------------------
#: DataCite clients: PANGAEA's from the recorded record (``pangaea.repository``); Mendeley's is assumed.
PANGAEA_CLIENT = ("pangaea.repository", "PANGAEA")
MENDELEY_CLIENT = ("mendeley.data", "Mendeley Data")
_PANGAEA_PUBLISHER = "PANGAEA - Data Publisher for Earth & Environmental Science"


def _external() -> list[ExternalDataset]:
    md = MENDELEY_DATASET
    out = [ExternalDataset(md.doi(), md.landing(), md.title, md.creators, "Mendeley Data",
                           int(md.versions[-1].published[:4]), *MENDELEY_CLIENT)]
    out += [ExternalDataset(md.doi(v.number), md.landing(v.number), md.title, md.creators, "Mendeley Data",
                            int(v.published[:4]), *MENDELEY_CLIENT) for v in md.versions]
    out += [ExternalDataset(d.doi, d.landing, d.title, d.creators, _PANGAEA_PUBLISHER, int(d.published[:4]),
                            *PANGAEA_CLIENT) for d in PANGAEA_DATASETS]
    return out


EXTERNAL: list[ExternalDataset] = _external()


def make_sites(world: World) -> dict[str, Any]:
    """Host -> ASGI app for the Mendeley Data and PANGAEA emulators."""
    from .sites import mendeley, pangaea

    return {**mendeley.make_sites(world), **pangaea.make_sites(world)}


__all__ = ["AA", "AGE_COLLECTION", "SEAFLOOR_IMAGES", "EXTERNAL", "GUBBIO", "MENDELEY_DATASET", "MENDELEY_STORAGE", "PANGAEA_DATASETS",
           "PANGAEA_TOKEN", "RESTRICTED_CORE", "MdDataset", "MdVersion", "PgDataset", "generated_bytes",
           "make_sites", "pangaea_dataset", "table_bytes", "zip_bytes"]
