"""Datasets on Mendeley Data and PANGAEA in the fake internet.

Why these: each reproduces the awkward part of its service. Mendeley Data: two versions of one
dataset (the DOI with ``.1``/``.2`` and the bare one meaning "latest"), files listed per folder
with a folder nested three deep and names with spaces, sha256 per file, downloads redirected to
S3, and an API that answers 403 to anything not looking like a browser. PANGAEA: tables generated
on request (no size, no checksum, no ranges, the name only in ``Content-Disposition``), the two
datasets datahugger tests with (``10.1594/PANGAEA.954547`` -> ``Gubbio_age.tab``, ``.954543`` ->
``AA_age.tab``, sandbox contents), a parent collection shipping its children as one generated zip,
and a login-protected dataset (401 without a token).

Bytes are deterministic: Mendeley files come from the world's generator (explicit seeds), PANGAEA
tables from :func:`table_bytes`. The DOIs are :data:`EXTERNAL` entries, so doi.org and DataCite
resolve them; ``sites/mendeley.py`` and ``sites/pangaea.py`` render the models.

Each site owns its datasets: they are declared in ``data/mendeley.py`` and ``data/pangaea.py``, which
the sites and this registry import (never the reverse); the old names are re-exported here.
"""

from __future__ import annotations

from typing import Any

from .data.mendeley import MENDELEY_DATASET, MENDELEY_STORAGE, MdDataset, MdVersion
from .data.pangaea import (AA, AGE_COLLECTION, GUBBIO, PANGAEA_DATASETS, PANGAEA_TOKEN, RESTRICTED_CORE, SEAFLOOR_IMAGES,
                           PgDataset, generated_bytes, pangaea_dataset, table_bytes, zip_bytes)
from .world import ExternalDataset, World


# -- DOIs -----------------------------------------------------------------------------------------
#: DataCite clients: PANGAEA's from the recorded record (``pangaea.repository``); Mendeley's is assumed.
PANGAEA_CLIENT = ("pangaea.repository", "PANGAEA")
MENDELEY_CLIENT = ("mendeley.data", "Mendeley Data")
_PANGAEA_PUBLISHER = "PANGAEA - Data Publisher for Earth & Environmental Science"


def _external() -> list[ExternalDataset]:
    md = MENDELEY_DATASET
    out = [ExternalDataset(md.doi(), md.landing(), md.title, md.creators, "Mendeley Data",
                           int(md.versions[-1].published[:4]), *MENDELEY_CLIENT)]
    out += [ExternalDataset(md.doi(v.number), md.landing(v.number), md.title, md.creators, "Mendeley Data",
                            int(v.published[:4]), *MENDELEY_CLIENT) for v in md.versions]
    out += [ExternalDataset(d.doi, d.landing, d.title, d.creators, _PANGAEA_PUBLISHER, int(d.published[:4]),
                            *PANGAEA_CLIENT) for d in PANGAEA_DATASETS]
    return out


EXTERNAL: list[ExternalDataset] = _external()


def make_sites(world: World) -> dict[str, Any]:
    """Host -> ASGI app for the Mendeley Data and PANGAEA emulators."""
    from .sites import mendeley, pangaea

    return {**mendeley.make_sites(world), **pangaea.make_sites(world)}


__all__ = ["AA", "AGE_COLLECTION", "SEAFLOOR_IMAGES", "EXTERNAL", "GUBBIO", "MENDELEY_DATASET", "MENDELEY_STORAGE", "PANGAEA_DATASETS",
           "PANGAEA_TOKEN", "RESTRICTED_CORE", "MdDataset", "MdVersion", "PgDataset", "generated_bytes",
           "make_sites", "pangaea_dataset", "table_bytes", "zip_bytes"]
