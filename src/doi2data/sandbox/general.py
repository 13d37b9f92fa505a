"""The general-purpose repositories (Dataverse, Figshare and 4TU, Dryad, OSF, B2SHARE) in the world.

Each site owns its datasets: they are declared in ``sandbox/data/<site>.py`` and rendered by
``sandbox/sites/<site>.py``; this registry imports both (never the reverse) to list their DOIs and
handles and to build the emulators. Its old names are re-exported for existing importers.

Each repository's model is a few frozen dataclasses holding :class:`~doi2data.sandbox.world.FileSpec`
(``sandbox/data/<site>.py``; explicit seeds, so the bytes are the world's deterministic generator and nothing is stored). The
DOIs are :data:`EXTERNAL` entries of the world, so doi.org, hdl.handle.net and DataCite resolve them
to the landing URLs the real services register; the emulators in ``sites/{dataverse,figshare,dryad,
osf,b2share}.py`` render these models in each service's wire format (see their docstrings).

Each dataset exists for one real-world situation: Dataverse versions, folders, SHA-1/SHA-256/SHA-512
checksums, an ingested tabular file (the ``format=original`` trap), a restricted file behind a
signed-URL redirect, a file-level DOI and an installation on a host no table lists; Figshare
versions, a folder, a link-only file, a collection, a portal DOI found only via ``?doi=``, and
4TU's UUID flavour; Dryad's HAL chain with paging and a deleted file; OSF nested folders and a
folder of 105 files (two pages even at ``page[size]=100``); B2SHARE inline files, files only in the
bucket, and a closed record. :class:`SignedStorage` (``sites/storage.py``) is the S3-style host several
services redirect to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .data.b2share import B2_BUCKET_ONLY, B2_CLOSED, B2_OPEN, B2SHARE_RECORDS, B2Record
from .data.common import hexid, http_stamp, uid
from .data.dataverse import (_DV_PEOPLE, DATAVERSE_DATASETS, DATAVERSE_TOKEN, DVN_STORAGE, HARVARD, HARVARD_DATASET,
                             HARVARD_FILE_DOI, UNKNOWN_DATAVERSE, UNKNOWN_DV_DATASET, DvDataset, DvFile, DvVersion)
from .data.dryad import DRYAD_DATASET, DRYAD_STORAGE, DryadDataset, DryadFile, DryadVersion
from .data.figshare import (FIGSHARE_ARTICLES, FIGSHARE_STORAGE, FOURTU, LINK_ONLY_HOST, OCEAN, OCEAN_COLLECTION,
                            TIDES, FsArticle, FsCollection, FsFile, FsVersion, fourtu_file_uuid)
from .data.osf import OSF_NODE, OsfFile, OsfNode
from .sites.storage import SignedStorage, StoredObject, file_entity
from .world import Creator, ExternalDataset, World


# -- DOIs and handles ------------------------------------------------------------------------------
def _ext(doi: str, url: str, title: str, creators: tuple[Creator, ...], publisher: str, year: int,
         client: tuple[str, str]) -> ExternalDataset:
    return ExternalDataset(doi, url, title, creators, publisher, year, client[0], client[1])


_HARVARD_CLIENT = ("gdcc.harvard-dv", "Harvard Dataverse")
_FIGSHARE_CLIENT = ("figshare.ars", "figshare Academic Research System")


def _external() -> list[ExternalDataset]:
    hv, ui = HARVARD_DATASET, UNKNOWN_DV_DATASET
    out = [
        _ext(hv.doi, hv.landing_url, hv.title, hv.creators, hv.publisher, 2020, _HARVARD_CLIENT),
        _ext(HARVARD_FILE_DOI, f"https://{HARVARD}/file.xhtml?persistentId=doi:{HARVARD_FILE_DOI}",
             "codebook.pdf", hv.creators, hv.publisher, 2020, _HARVARD_CLIENT),
        _ext(ui.doi, ui.landing_url, ui.title, ui.creators, ui.publisher, 2024, ("uiex.rdm", ui.publisher)),
    ]
    for art in (OCEAN,):
        out.append(_ext(art.doi(), art.url(), art.title, art.creators, "figshare", 2021, _FIGSHARE_CLIENT))
        out += [_ext(art.doi(v.version), art.url(v.version), art.title, art.creators, "figshare",
                     int(v.published[:4]), _FIGSHARE_CLIENT) for v in art.versions]
    out.append(_ext(TIDES.doi(), TIDES.landing or "", TIDES.title, TIDES.creators, "Sandbox University", 2022,
                    ("sbxuni.figshare", "Sandbox University figshare portal")))
    out.append(_ext(f"10.4121/uuid:{FOURTU.uuid}", FOURTU.url(1), FOURTU.title, FOURTU.creators,
                    "4TU.ResearchData", 2023, ("delft.data4tu", "4TU.ResearchData")))
    col = OCEAN_COLLECTION
    out.append(_ext(col.doi, col.url, col.title, OCEAN.creators, "figshare", 2022, _FIGSHARE_CLIENT))
    dr = DRYAD_DATASET
    out.append(_ext(dr.doi, dr.landing_url, dr.title, dr.creators, "Dryad", 2021, ("dryad.dryad", "DRYAD")))
    out.append(_ext(OSF_NODE.doi, f"https://osf.io/{OSF_NODE.guid}/", OSF_NODE.title, _DV_PEOPLE[:1],
                    "OSF", 2019, ("cos.osf", "Open Science Framework")))
    out += [_ext(r.doi, f"https://b2share.eudat.eu/records/{r.id}", r.title, r.creators, "EUDAT B2SHARE",
                 int(r.publication_date[:4]), ("eudat.b2share", "B2SHARE")) for r in B2SHARE_RECORDS]
    return out


#: DataCite DOIs of every dataset above (added to the default world).
EXTERNAL: list[ExternalDataset] = _external()
#: Non-DOI handles: B2SHARE's per-file ePIC PIDs -> the bucket URL of the file.
HANDLES: dict[str, str] = {
    B2Record.epic(spec): f"https://b2share.eudat.eu/api/files/{rec.bucket}/{quote(spec.key)}"
    for rec in B2SHARE_RECORDS for spec in rec.files}


def make_sites(world: World) -> dict[str, Any]:
    """Host -> ASGI app for every general-repository emulator and their storage hosts."""
    from .sites import b2share, dataverse, dryad, figshare, osf

    sites: dict[str, Any] = {}
    builders: tuple[Callable[[World], dict[str, Any]], ...] = (
        dataverse.make_sites, figshare.make_sites, dryad.make_sites, osf.make_sites, b2share.make_sites)
    for build in builders:
        sites.update(build(world))
    return sites


__all__ = [
    "B2SHARE_RECORDS", "B2_BUCKET_ONLY", "B2_CLOSED", "B2_OPEN", "DATAVERSE_DATASETS", "DATAVERSE_TOKEN",
    "DRYAD_DATASET", "DRYAD_STORAGE", "DVN_STORAGE", "EXTERNAL", "FIGSHARE_ARTICLES", "FIGSHARE_STORAGE", "FOURTU", "HANDLES", "HARVARD", "HARVARD_DATASET",
    "HARVARD_FILE_DOI", "LINK_ONLY_HOST", "OCEAN", "OCEAN_COLLECTION", "OSF_NODE", "TIDES", "UNKNOWN_DATAVERSE",
    "UNKNOWN_DV_DATASET", "B2Record", "DryadDataset", "DryadFile", "DryadVersion", "DvDataset", "DvFile",
    "DvVersion", "FsArticle", "FsCollection", "FsFile", "FsVersion", "OsfFile", "OsfNode", "SignedStorage",
    "StoredObject", "file_entity", "fourtu_file_uuid", "hexid", "http_stamp", "uid", "make_sites",
]
