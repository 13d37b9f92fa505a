"""Photon and neutron facility datasets in the fake internet: PSI, ESRF, DESY, SciCat, plain web folders.

Why these: each reproduces a route from Millar's 2022 talk ("How to get data automatically from a
DOI", shared/seeds/000) or DESY's 2024 open-data talk (seeds/002) with the awkward parts the
research notes (pan-apis §3-5, §8) found: the PSI seed DOI with its ``tif/`` folder behind a
double-encoded publication URL and a wget download page; a multi-dataset PSI publication with
nested folders, names with spaces, two checksum files with ``is_directory`` lines and one folder
gone to tape; a PSI publication reachable only through SciCat v4 (doubled pid prefix, no
``downloadLink``); the ESRF seed data collection (17 ``.h5`` files, archived: restore, then ONLINE
after a few polls); an ESRF session with a paginated datafile listing and two datasets of the same
name; an ESRF collection whose restore never ends; DESY data on dCache (Metalink, PROPFIND,
Want-Digest, a NEARLINE file, 307 to a pool); generic SciCat v4 and v3 instances; and one tree
served as nginx, Apache and lighttpd listings.

Bytes come from ``World.content`` (explicit seeds, nothing stored). The DOIs are :data:`EXTERNAL`
entries, so doi.org and DataCite resolve them. :func:`make_sites` builds every emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .world import Creator, ExternalDataset, FileSpec, World


def _bin(seed: str, key: str, size: int, mimetype: str = "application/octet-stream") -> FileSpec:
    return FileSpec(key, size, mimetype, seed=f"{seed}:{key}")


def _txt(seed: str, key: str, lines: int, mimetype: str = "text/plain") -> FileSpec:
    body = "".join(f"{seed} {key} line {i:04d}: exposure 0.{i % 10} s, angle {i * 0.09:.2f} deg\n"
                   for i in range(lines))
    return FileSpec(key, mimetype=mimetype, data=body.encode(), seed=f"{seed}:{key}")


# -- PSI ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebFolder:
    """A published dataset folder (nginx autoindex); ``files`` keyed relative to it."""

    url: str                      # https://host/path/ (ends with '/')
    files: tuple[FileSpec, ...]
    source_folder: str = ""       # SciCat sourceFolder of the dataset
    pid: str = ""
    online: bool = True
    checksum_parts: int = 1       # the sha1 list split over __checksum_filename_0..N-1__
    parent_relative: bool = False  # checksum lines name paths from the parent folder ("tif/x.tif")
    header: str = "# Used python version for creating this checksum file: 3.6.8"


@dataclass(frozen=True)
class PsiPublication:
    doi: str
    title: str
    creators: tuple[str, ...]
    year: int
    landing: str
    folders: tuple[WebFolder, ...]
    download_link: str | None
    routes: frozenset[str] = frozenset({"oaipmh", "v3", "v4"})  # where its JSON is served
    abstract: str = ""
    raw_pids: tuple[str, ...] = ()   # pidArray as served (may repeat the prefix)


PSI_DOI = "10.16907/d699e1f7-e822-4396-8c64-34ed405f07b7"
PSI_MULTI_DOI = "10.16907/7c1f0d2e-5a4b-4c3d-9e8f-0a1b2c3d4e5f"
PSI_V4_DOI = "10.16907/0f4e5d6c-7b8a-4999-8aaa-bbbbccccdddd"
_SEED_DIR = "/sls/X02DA/Data10/e17068/disk1"
_MULTI_DIR = "/sls/X02DA/data/e19000"


def _tif_folder() -> WebFolder:
    seed = "psi-seed"
    files = (_txt(seed, "h11913_4_3_.log", 40), _txt(seed, "h11913_4_3_.xml", 25, "application/xml"),
             *(_bin(seed, f"h11913_4_3_{i:04d}.tif", 48_000 + 37 * i, "image/tiff") for i in range(1, 13)))
    return WebFolder(f"https://doi2.psi.ch/datasets{_SEED_DIR}/h11913_4_3_/tif/", files, f"{_SEED_DIR}/h11913_4_3_/tif",
                     "20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8")


def _multi_folders() -> tuple[WebFolder, ...]:
    a, b = "psi-multi-a", "psi-multi-b"
    scan_a = (_txt(a, "README scan a.txt", 12), _bin(a, "recon/slice 0001.tif", 40_961, "image/tiff"),
              _bin(a, "recon/slice 0002.tif", 40_962, "image/tiff"), _bin(a, "raw/proj_0001.h5", 70_001),
              _bin(a, "raw/flats/flat_01.h5", 20_003), _txt(a, "raw/flats/notes  (two spaces).txt", 5))
    scan_b = (_bin(b, "scan_b_0001.tif", 30_001, "image/tiff"), _bin(b, "scan_b_0002.tif", 30_002, "image/tiff"),
              _txt(b, "scan_b.log", 9))
    base = f"https://doi.psi.ch/datasets{_MULTI_DIR}"
    return (WebFolder(f"{base}/scan_a/", scan_a, f"{_MULTI_DIR}/scan_a", "20.500.11935/aaaa0001", checksum_parts=2,
                      header="# checksum algorithm: sha1  (generated 2023-03-01)"),
            WebFolder(f"{base}/scan_b/", scan_b, f"{_MULTI_DIR}/scan_b", "20.500.11935/bbbb0002", parent_relative=True),
            WebFolder(f"{base}/scan_c/", (_bin("psi-multi-c", "gone.h5", 123_456),), f"{_MULTI_DIR}/scan_c",
                      "20.500.11935/cccc0003", online=False))


PSI_PUBLICATIONS: tuple[PsiPublication, ...] = (
    PsiPublication(PSI_DOI, "Synchrotron Imaging of Complex Vascular Lesions in Human Pulmonary Hypertension: "
                   "Pathology Distribution in 3D Space", ("Karin Tran-Lundmark",), 2021,
                   f"https://doi.psi.ch/detail/{PSI_DOI}", (_tif_folder(),),
                   f"https://doi2.psi.ch/datasets{_SEED_DIR}/",
                   abstract="The aim of this proposal is to image the complex vascular lesions seen in human "
                   "pulmonary hypertension (PH)."),
    PsiPublication(PSI_MULTI_DOI, "Operando tomography of battery electrodes (three scans)",
                   ("Anna Keller", "Chidi Okafor"), 2023,
                   f"https://doi.psi.ch/detail/{PSI_MULTI_DOI.replace('/', '%2F')}",
                   _multi_folders(), f"https://doi.psi.ch/datasets{_MULTI_DIR}/", frozenset({"oaipmh", "v3"})),
    PsiPublication(PSI_V4_DOI, "Lysozyme at 100 K (published after the 2025 oai-provider upgrade)",
                   ("Sofia Lindqvist",), 2025, f"https://doi.psi.ch/detail/{PSI_V4_DOI.replace('/', '%2F')}",
                   (WebFolder("https://doi.psi.ch/datasets/sls/X06SA/data/e20001/lyso_01/",
                              (_bin("psi-v4", "lyso_01_0001.cbf", 25_001), _bin("psi-v4", "lyso_01_0002.cbf", 25_002)),
                              "/sls/X06SA/data/e20001/lyso_01", "20.500.11935/dddd0004"),),
                   None, frozenset({"v4"}), raw_pids=("20.500.11935/20.500.11935/dddd0004",)),
)


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


# -- DESY (SciCat + dCache) -----------------------------------------------------------------------
@dataclass(frozen=True)
class DcacheFolder:
    source_folder: str
    files: tuple[FileSpec, ...]
    nearline: frozenset[str] = frozenset()        # tape only
    metalink: bool = True                         # the door answers Metalink for this tree
    metalink_hashes: frozenset[str] = frozenset()  # files whose Metalink entry has sha-1 + md5
    dav_checksums: frozenset[str] = frozenset()   # files whose PROPFIND Checksums property is filled
    md5: frozenset[str] = frozenset()             # files for which dCache knows an md5 (else adler32 only)
    rfc9530: bool = False                         # the door answers Want-Repr-Digest, not Want-Digest


@dataclass(frozen=True)
class DesyPublication:
    doi: str
    title: str
    creators: tuple[str, ...]
    pid: str
    folder: DcacheFolder
    download_link: str | None = None


DESY_DOI = "10.3204/DESY-PD-2024-00017"
DESY_LINK_DOI = "10.3204/DESY-PD-2024-00018"
DESY_STORAGE_HOST = "hifis-storage.desy.de"   # the real door listens on :2880; the sandbox on :443
_XRR = "/desy/public-data/upload/daphne4nfdi/10.5281 zenodo.6497438"


def _desy() -> tuple[DesyPublication, ...]:
    s = "desy-xrr"
    xrr = (_txt(s, "calc_xrr.py", 40, "text/x-python"), _txt(s, "conda_env.yml", 90), _txt(s, "prepare_plot.py", 50),
           _bin(s, "README.html", 60_001, "text/html"), _bin(s, "README.ipynb", 90_001, "application/json"),
           FileSpec("requirements.txt", data=b"numpy\nh5py\nmatplotlib\nrefnx\n", seed=f"{s}:req"),
           _bin(s, "xrr_dataset.h5", 254_001, "application/x-hdf5"), _txt(s, "fits/fit_0001.json", 10),
           _txt(s, "fits/fit_0002.json", 11), _bin(s, "raw/old_scan.h5", 80_000, "application/x-hdf5"))
    t = "desy-ric"
    ric = (_bin(t, "run_01.h5", 33_333, "application/x-hdf5"), _txt(t, "meta/run_01.json", 8))
    return (
        DesyPublication(DESY_DOI, "Reflectometry curves (XRR and NR) and corresponding fits for machine learning",
                        ("Linus Pithan",), "20.500.12269/10242df2-3868-42cb-bcb2-81c2c44533ec",
                        DcacheFolder(_XRR, xrr, frozenset({"raw/old_scan.h5"}), True,
                                     frozenset({"calc_xrr.py", "README.html"}),
                                     frozenset({"conda_env.yml", "prepare_plot.py", "README.ipynb", "xrr_dataset.h5",
                                                "fits/fit_0001.json", "fits/fit_0002.json"}),
                                     frozenset({"xrr_dataset.h5", "requirements.txt"}))),
        DesyPublication(DESY_LINK_DOI, "IT-RIC test upload (older door: no Metalink)", ("Tim Wetzel",),
                        "20.500.12269/5e1c0b7a-0000-4000-8000-000000000018",
                        DcacheFolder("/desy/public-data/upload/it-ric/run_01", ric, metalink=False,
                                     md5=frozenset({"run_01.h5"}), rfc9530=True),
                        f"https://{DESY_STORAGE_HOST}/desy/public-data/upload/it-ric/"),
    )


DESY_PUBLICATIONS: tuple[DesyPublication, ...] = _desy()


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
WEB_HOSTS = ("nginx.example.net", "apache.example.net", "lighttpd.example.net")
WEB_ROOT = "/pub/climate-run-7/"
WEB_FILES: tuple[FileSpec, ...] = (
    _txt("web", "README.txt", 6), _txt("web", "data/2019/temps.csv", 120, "text/csv"),
    _txt("web", "data/2020/temps.csv", 130, "text/csv"), _bin("web", "data/big.bin", 300_007),
    _txt("web", "odd names/α β.txt", 3))


#: A DataCite collection (issue 14): its landing page lists no files; its record's HasPart DOIs are
#: a SciCat publication, an ESRF session, the Zenodo demo record and one DOI that does not resolve.
COLLECTION_DOI = "10.5072/pan-collection-0001"
COLLECTION_MISSING_PART = "10.5072/pan-collection-0001-lost"
COLLECTION_PARTS = (SCICAT_V4_DOI, ESRF_SESSION_DOI, "10.5281/zenodo.1215979", COLLECTION_MISSING_PART)
#: DataCite attributes that differ from the emulator's defaults (the DataCite site merges them in).
DATACITE_ATTRIBUTES: dict[str, dict[str, Any]] = {COLLECTION_DOI: {
    "relatedIdentifiers": [{"relationType": "HasPart", "relatedIdentifier": doi, "relatedIdentifierType": "DOI"}
                           for doi in COLLECTION_PARTS]
    + [{"relationType": "IsCitedBy", "relatedIdentifier": "10.1000/paper.1", "relatedIdentifierType": "DOI"},
       {"relationType": "HasPart", "relatedIdentifier": "https://example.org/x", "relatedIdentifierType": "URL"}],
    "partCount": len(COLLECTION_PARTS), "types": {"resourceTypeGeneral": "Collection", "resourceType": "Experiment"}}}


def external() -> list[ExternalDataset]:
    """DataCite records of every DOI above (landing URLs as the facilities register them)."""
    out = [ExternalDataset(p.doi, p.landing, p.title, (), "Paul Scherrer Institute", p.year, "psi.data", "PSI")
           for p in PSI_PUBLICATIONS]
    out += [ExternalDataset(e.doi, f"https://doi.esrf.fr/{e.doi}", e.title, e.creators,
                            "European Synchrotron Radiation Facility (ESRF)", e.year, "esrf.data", "ESRF")
            for e in ESRF_DOIS]
    out += [ExternalDataset(d.doi, f"https://public-data.desy.de/detail/{d.doi.replace('/', '%2F')}", d.title, (),
                            "DESY", 2024, "desy.public", "DESY public data") for d in DESY_PUBLICATIONS]
    out += [ExternalDataset(p.doi, f"https://{p.frontend}/detail/{p.doi.replace('/', '%2F') if p.config else p.doi}",
                            p.title, (), "Example Neutron Source", 2024, "ens.scicat", "ENS")
            for p in SCICAT_PUBLICATIONS]
    out.append(ExternalDataset(COLLECTION_DOI, "https://data.example.org/ds/pan-collection-1",
                               "Lysozyme and catalysts: raw and processed data of one study (a collection)",
                               (Creator("Okafor", "Chidi"),), "Example Facility", 2024))
    return out


EXTERNAL: list[ExternalDataset] = external()


def make_sites(world: World) -> dict[str, Any]:
    """Host -> ASGI app for every facility emulator."""
    from .sites import desy, esrf, psi, scicat, webindex

    sites: dict[str, Any] = {}
    for build in (psi.make_sites, esrf.make_sites, desy.make_sites, scicat.make_sites, webindex.make_sites):
        sites.update(build(world))
    return sites


__all__ = ["COLLECTION_DOI", "COLLECTION_MISSING_PART", "COLLECTION_PARTS", "DATACITE_ATTRIBUTES", "DESY_DOI", "DESY_LINK_DOI", "DESY_PUBLICATIONS", "DESY_STORAGE_HOST", "ESRF_DOI", "ESRF_DOIS",
           "ESRF_SESSION_DOI", "ESRF_TAPE_DOI", "EXTERNAL", "PSI_DOI", "PSI_MULTI_DOI", "PSI_PUBLICATIONS",
           "PSI_V4_DOI", "SCICAT_FILES_HOST", "SCICAT_PUBLICATIONS", "SCICAT_V3_DOI", "SCICAT_V4_DOI", "WEB_FILES",
           "WEB_HOSTS", "WEB_ROOT", "DcacheFolder", "DesyPublication", "EsrfDataset", "EsrfDoi", "PsiPublication",
           "ScicatPublication", "ScicatSet",
           "WebFolder", "make_sites"]
