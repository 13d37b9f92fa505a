"""PSI publications: the seed DOI with its ``tif/`` folder behind a double-encoded publication URL
and a wget download page; a multi-dataset publication with nested folders, names with spaces, two
checksum files and one folder gone to tape; one reachable only through SciCat v4. Rendered by
:mod:`doi2data.sandbox.sites.psi`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import FileSpec
from .facility_files import _bin, _txt


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
