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

Each site owns its datasets: they are declared in ``data/{psi,esrf,desy,scicat,webindex,collection}.py``,
which the sites and this registry import (never the reverse); the old names are re-exported here.
"""

from __future__ import annotations

from typing import Any

from .data.collection import COLLECTION_DOI, COLLECTION_MISSING_PART, COLLECTION_PARTS, DATACITE_ATTRIBUTES
from .data.desy import (DESY_DOI, DESY_LINK_DOI, DESY_PUBLICATIONS, DESY_STORAGE_HOST, DcacheFolder,
                        DesyPublication)
from .data.esrf import ESRF_DOI, ESRF_DOIS, ESRF_SESSION_DOI, ESRF_TAPE_DOI, EsrfDataset, EsrfDoi
from .data.psi import PSI_DOI, PSI_MULTI_DOI, PSI_PUBLICATIONS, PSI_V4_DOI, PsiPublication, WebFolder
from .data.scicat import (SCICAT_FILES_HOST, SCICAT_PUBLICATIONS, SCICAT_V3_DOI, SCICAT_V4_DOI, ScicatPublication,
                          ScicatSet)
from .data.webindex import WEB_FILES, WEB_HOSTS, WEB_ROOT
from .world import Creator, ExternalDataset, World


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
    from . import webfolders  # one host per listing flavour, each behind a DataCite DOI
    from .sites import desy, esrf, psi, scicat, webindex

    sites: dict[str, Any] = {}
    for build in (psi.make_sites, esrf.make_sites, desy.make_sites, scicat.make_sites, webindex.make_sites,
                  webfolders.make_sites):
        sites.update(build(world))
    return sites


__all__ = ["COLLECTION_DOI", "COLLECTION_MISSING_PART", "COLLECTION_PARTS", "DATACITE_ATTRIBUTES", "DESY_DOI", "DESY_LINK_DOI", "DESY_PUBLICATIONS", "DESY_STORAGE_HOST", "ESRF_DOI", "ESRF_DOIS",
           "ESRF_SESSION_DOI", "ESRF_TAPE_DOI", "EXTERNAL", "PSI_DOI", "PSI_MULTI_DOI", "PSI_PUBLICATIONS",
           "PSI_V4_DOI", "SCICAT_FILES_HOST", "SCICAT_PUBLICATIONS", "SCICAT_V3_DOI", "SCICAT_V4_DOI", "WEB_FILES",
           "WEB_HOSTS", "WEB_ROOT", "DcacheFolder", "DesyPublication", "EsrfDataset", "EsrfDoi", "PsiPublication",
           "ScicatPublication", "ScicatSet",
           "WebFolder", "make_sites"]
