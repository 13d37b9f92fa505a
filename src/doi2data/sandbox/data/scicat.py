"""Generic SciCat v4 and v3 instances (Example Neutron/Light Source). Rendered by
:mod:`doi2data.sandbox.sites.scicat` (their files by :mod:`doi2data.sandbox.sites.webindex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..world import FileSpec
from .facility_files import _bin, _txt


# -- generic SciCat and plain web folders ---------------------------------------------------------
@dataclass(frozen=True)
class ScicatSet:
    """A SciCat dataset: origdatablock files (``chk`` by ``chk_alg``), paths absolute when ``absolute``."""

    pid: str
    source_folder: str
    files: tuple[FileSpec, ...]
    chk_alg: str = "sha256"
    absolute: bool = False
    #: the dataset document's science fields (``type``, ``sampleId``, ``techniques``, ``scientificMetadata``...)
    science: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class ScicatPublication:
    doi: str
    title: str
    frontend: str                 # landing host (…/detail/<doi>)
    backend: str                  # API host
    versions: frozenset[str]
    datasets: tuple[ScicatSet, ...]
    publish_prefix: str           # files of a dataset are at https://<files host><prefix><sourceFolder>/
    download_link: str
    config: bool = True           # the frontend serves /assets/config.json naming the backend


SCICAT_V4_DOI = "10.5072/scicat-demo-0001"
SCICAT_V3_DOI = "10.5072/scicat-demo-0003"
SCICAT_FILES_HOST = "files.scicat.example.org"
SCICAT_PUBLICATIONS: tuple[ScicatPublication, ...] = (
    ScicatPublication(SCICAT_V4_DOI, "Generic SciCat v4 publication", "scicat.example.org",
                      "scicat-backend.example.org", frozenset({"v4"}), (
                          ScicatSet("20.500.99999/ens-0001", "/ens/2024/run_001",
                                    (_bin("ens1", "detector/events_000.nxs", 45_001), _txt("ens1", "run_001.log", 15)),
                                    absolute=True, science=(
                                        ("type", "raw"), ("sampleId", "lysozyme-0001"),
                                        ("creationLocation", "/ENS/BIFROST"), ("startTime", "2024-01-25T17:00:00.000Z"),
                                        ("endTime", "2024-01-25T18:34:00.000Z"),
                                        ("techniques", [{"pid": "PaNET01181", "name": "neutron spectroscopy"}]),
                                        ("scientificMetadata", {"incident_energy": {"value": 5.0, "unit": "meV"},
                                                                "temperature": {"value": 1.8, "unit": "K"}}))),
                          ScicatSet("20.500.99999/ens-0002", "/ens/2024/run_002",
                                    (_bin("ens2", "events_000.nxs", 33_003),), "md5", science=(
                                        ("type", "derived"), ("sampleId", "lysozyme-0001"),
                                        ("creationLocation", "/ENS/BIFROST"),
                                        ("creationTime", "2024-02-01T09:00:00.000Z"),
                                        ("scientificMetadata", {"incident_energy": {"value": 5.0, "unit": "meV"},
                                                                "reduction": "mantid 6.9"})))),
                      "/datasets", f"https://{SCICAT_FILES_HOST}/datasets/ens/2024/"),
    ScicatPublication(SCICAT_V3_DOI, "Generic SciCat v3 publication", "scicat-v3.example.org", "scicat-v3.example.org",
                      frozenset({"v3"}), (ScicatSet("20.500.99998/els-0007", "/els/2020/beamtime_7",
                                                    (_bin("els7", "scan 7.h5", 27_007), _txt("els7", "notes.txt", 4)),
                                                    "sha1"),),
                      "/v3", f"https://{SCICAT_FILES_HOST}/v3/els/2020/", config=False),
)
