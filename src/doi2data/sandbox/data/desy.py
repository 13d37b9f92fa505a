"""DESY publications on SciCat + dCache (Metalink, PROPFIND, Want-Digest, a NEARLINE file, 307 to a
pool). Rendered by :mod:`doi2data.sandbox.sites.desy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import FileSpec
from .facility_files import _bin, _txt


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
