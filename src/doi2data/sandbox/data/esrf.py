"""ESRF DOIs: a session with a paginated datafile listing and two datasets of the same name, and a
collection whose restore never ends. Rendered by :mod:`doi2data.sandbox.sites.esrf`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..world import Creator, FileSpec
from .facility_files import _bin, _txt


# -- ESRF -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EsrfDataset:
    id: int
    name: str
    location: str
    files: tuple[FileSpec, ...]     # keys relative to ``location``
    status: str = "ONLINE"          # ONLINE | ARCHIVED
    restore_polls: int | None = 3   # status polls after a restore request until ONLINE (None: never)
    sample: str = ""
    kind: str = "acquisition"       # ICAT dataset type: acquisition | processed
    technique: str = ""
    parameters: tuple[tuple[str, str, str], ...] = ()  # (name, value, units) as ICAT+ sends them

    def file_id(self, index: int) -> int:
        return self.id * 1000 + index


@dataclass(frozen=True)
class EsrfDoi:
    doi: str
    title: str
    creators: tuple[Creator, ...]
    year: int
    datasets: tuple[EsrfDataset, ...] = field(default=())


ESRF_DOI = "10.15151/ESRF-DC-818569841"
ESRF_SESSION_DOI = "10.15151/ESRF-ES-144479045"
ESRF_TAPE_DOI = "10.15151/ESRF-DC-900000001"
_MX = "/data/visitor/mx1887/id30a3/20171025/RAW_DATA/ceru_NaBr6/mesh-ceru_NaBr6_1_2134515"
_MA = "/data/visitor/ma1234/bm23/20230210/RAW_DATA/sampleA"


def _esrf() -> tuple[EsrfDoi, ...]:
    mesh = tuple(_bin("esrf-mx", f"mesh-ceru_NaBr6_1_1_data_{i:06d}.h5", 30_000 + 1021 * i, "application/x-hdf5")
                 for i in range(1, 17))
    mesh += (_bin("esrf-mx", "mesh-ceru_NaBr6_1_1_master.h5", 12_345, "application/x-hdf5"),)
    frames = tuple(FileSpec(f"scan0001/frame_{i:05d}.edf", data=f"EDF {i}\n".encode() * 20, seed=f"esrf-ma:{i}")
                   for i in range(1, 231)) + (_bin("esrf-ma", "sampleA_0001.h5", 40_000, "application/x-hdf5"),)
    return (
        EsrfDoi(ESRF_DOI, "Serial data example", (Creator("Santoni", "Gianluca"), Creator("Aumonier", "Sylvain")), 2022,
                (EsrfDataset(2134515, "mesh-ceru_NaBr6_1_2134515", _MX, mesh, "ARCHIVED", 3, "ceru_NaBr6",
                             technique="MX", parameters=(("MX_wavelength", "0.9677", "Angstrom"),
                                                         ("MX_exposureTime", "0.01", "s"))),)),
        EsrfDoi(ESRF_SESSION_DOI, "Operando XAS of catalysts (MA-1234)", (Creator("Okafor", "Chidi"),), 2023, (
            EsrfDataset(1071092451, "sampleA_0001", f"{_MA}/sampleA_0001", frames, sample="sampleA", technique="XAS",
                        parameters=(("InstrumentMonochromator_energy", "8.979", "keV"),
                                    ("Sample_temperature", "298", "K"))),
            EsrfDataset(1071092452, "sampleA_0002", f"{_MA}/sampleA_0002",
                        (_txt("esrf-ma2", "sampleA_0002.h5", 30, "application/x-hdf5"),
                         _bin("esrf-ma2", "gallery/snapshot.png", 9_001, "image/png"),
                         _bin("esrf-ma2", "raw/detector.h5", 700_001, "application/x-hdf5")), sample="sampleA_heated",
                        kind="processed", technique="XAS",
                        parameters=(("InstrumentMonochromator_energy", "8.979", "keV"),
                                    ("Sample_temperature", "473", "K"), ("processing_program", "PyMca", ""))),
            EsrfDataset(1071092453, "sampleA_0001", f"{_MA}/repeat/sampleA_0001",
                        (_bin("esrf-ma3", "sampleA_0001.h5", 11_111, "application/x-hdf5"),), sample="sampleA",
                        technique="XAS", parameters=(("InstrumentMonochromator_energy", "9.2", "keV"),
                                                     ("Sample_temperature", "523", "K"))))),
        EsrfDoi(ESRF_TAPE_DOI, "A collection that stays on tape", (Creator("Lindqvist", "Sofia"),), 2019,
                (EsrfDataset(3000001, "deep_archive_0001", "/data/visitor/old/deep_archive_0001",
                             (_bin("esrf-tape", "deep.h5", 5_000),), "ARCHIVED", None),)),
    )


ESRF_DOIS: tuple[EsrfDoi, ...] = _esrf()
