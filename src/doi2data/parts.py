"""A DataCite collection: a DOI whose record lists ``HasPart`` DOIs, each part one dataset of it.

Why: facilities mint a DOI for a whole experiment or paper that gathers other DOIs (raw and
processed datasets, one per sample) in DataCite's ``relatedIdentifiers`` (``relationType:
HasPart``), while the collection's own landing page lists no files. Such a DOI's manifest gathers
every part's files under a folder named after the part (``<part>/<path>``); each part is one of
the manifest's ``datasets`` (kind ``other``: DataCite does not say raw or processed), and a part
whose own repository knows datasets inside it (ESRF, SciCat, PSI) contributes those instead,
named ``<part>/<dataset>`` with their science. So ``--dataset`` chooses among them as for any DOI.

Bounds: at most :data:`~doi2data.datacite.MAX_PARTS` parts, listed 4 at a time; parts of parts
are not followed (no loops, no fan-out); a part that fails is a warning, not a failure of the rest.
Used only when the collection itself lists no files (or its landing page is not supported): a
DOI with files of its own keeps them, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

from .adapters._pan.scicat_api import folder_names
from .adapters.base import Resolved
from .errors import Doi2DataError
from .model import Dataset, DatasetInfo, FileEntry, Manifest

CONCURRENT_PARTS = 4


async def with_parts(own: Manifest | None, resolved: Resolved,
                     build: Callable[[str], Awaitable[Manifest]]) -> Manifest:
    """The collection's manifest: every part's files under ``<part>/``, one dataset (or more) per part."""
    parts = resolved.parts
    gate = asyncio.Semaphore(CONCURRENT_PARTS)

    async def one(doi: str) -> Manifest | Doi2DataError:
        async with gate:
            try:
                return await build(doi)
            except Doi2DataError as exc:  # one broken part must not hide the others
                return exc

    results = await asyncio.gather(*(one(doi) for doi in parts))
    names = folder_names(list(parts))
    files: list[FileEntry] = []
    datasets: list[DatasetInfo] = []
    warnings = list(own.warnings) if own is not None else []
    for doi, name, result in zip(parts, names, results):
        if isinstance(result, Doi2DataError):
            warnings.append(f"part {doi} of this collection could not be listed: {result}")
            continue
        inner = {d.name for d in result.datasets}
        if inner:
            datasets += [replace(d, name=f"{name}/{d.name}") for d in result.datasets]
        else:
            datasets.append(DatasetInfo(name))
        for f in result.files:
            label = f"{name}/{f.dataset}" if f.dataset in inner else name
            files.append(replace(f, path=f"{name}/{f.path}", dataset=label))
        warnings += [f"{doi}: {w}" for w in result.warnings]
    about = own.dataset if own is not None else Dataset(doi=resolved.doi, landing_url=resolved.landing_url)
    if resolved.metadata is not None:
        about = about.merged(resolved.metadata)
    about = replace(about, resource_type=about.resource_type or "Collection")
    warnings.append(f"a collection of {len(parts)} DOI(s) (DataCite HasPart): each part is a dataset under its "
                    "own folder")
    return Manifest(about, tuple(files), tuple(warnings), own.discovery if own is not None else None,
                    datasets=tuple(datasets))


__all__ = ["CONCURRENT_PARTS", "with_parts"]
