"""The Dryad dataset: a HAL chain with paging, versions and a deleted file. Rendered by
:mod:`doi2data.sandbox.sites.dryad`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..world import Creator, FileSpec
from .common import _bin, _csv, _text

DRYAD_STORAGE = "dryad-assetstore.s3.us-west-2.amazonaws.example"


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


__all__ = ["DRYAD_DATASET", "DRYAD_STORAGE", "DryadDataset", "DryadFile", "DryadVersion"]
