"""The Mendeley Data dataset: two versions of one dataset (the DOI with ``.1``/``.2`` and the bare one
meaning "latest"), files listed per folder with a folder nested three deep and names with spaces.
Rendered by :mod:`doi2data.sandbox.sites.mendeley`; the seeded-file helpers here also serve
:mod:`.pangaea`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..world import Creator, FileSpec

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


__all__ = ["MENDELEY_DATASET", "MENDELEY_STORAGE", "MdDataset", "MdVersion"]
