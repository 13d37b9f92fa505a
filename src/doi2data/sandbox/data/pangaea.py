"""PANGAEA datasets: tables generated on request (no size, no checksum, no ranges, the name only in
``Content-Disposition``), a collection shipped as a zip, a binary dataset and a login-protected one.
Rendered by :mod:`doi2data.sandbox.sites.pangaea`.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from ..world import Creator, FileSpec
from .mendeley import _bin, _rows

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
        from ..world import World

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


__all__ = ["AA", "AGE_COLLECTION", "GUBBIO", "PANGAEA_DATASETS", "PANGAEA_TOKEN", "RESTRICTED_CORE", "SEAFLOOR_IMAGES",
           "PgDataset", "generated_bytes", "pangaea_dataset", "table_bytes", "zip_bytes"]
