"""Dataverse datasets: versions, folders, SHA-1/SHA-256/SHA-512 checksums, an ingested tabular file
(the ``format=original`` trap), a restricted file behind a signed-URL redirect, a file-level DOI and
an installation on a host no table lists. Rendered by :mod:`doi2data.sandbox.sites.dataverse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..world import Creator, FileSpec
from .common import _bin, _csv, _rows, _text

#: The API token Dataverse accepts (``X-Dataverse-key`` header or ``?key=``) for restricted files.
DATAVERSE_TOKEN = "5b1d0c4e-sandbox-dataverse-token"
HARVARD = "dataverse.harvard.edu"
UNKNOWN_DATAVERSE = "data.unknown-institute.example"
DVN_STORAGE = "dvn-cloud.s3.amazonaws.example"


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


__all__ = ["DATAVERSE_DATASETS", "DATAVERSE_TOKEN", "DVN_STORAGE", "HARVARD", "HARVARD_DATASET", "HARVARD_FILE_DOI",
           "UNKNOWN_DATAVERSE", "UNKNOWN_DV_DATASET", "DvDataset", "DvFile", "DvVersion"]
