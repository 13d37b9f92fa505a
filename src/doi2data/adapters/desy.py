"""DESY public data: SciCat at public-data.desy.de, files on dCache (hifis-storage.desy.de) over WebDAV.

Route (research notes pan-apis §4.7 and §8; DESY's own "DOI -> files" prototype does the same):

1. ``GET https://public-data.desy.de/api/v3/PublishedData/<doi %2F-encoded>`` -> ``pidArray``;
2. ``GET …/Datasets/<pid>`` -> ``sourceFolder`` (all datasets at once);
3. folder URL = the publication's ``downloadLink`` if it has one, else the dCache door
   ``https://hifis-storage.desy.de:2880`` + ``sourceFolder`` (override: ``DOI2DATA_SCICAT=
   'public-data.desy.de storage=https://…'``);
4. each folder walked with Metalink + ``PROPFIND Depth: 1`` per directory, ``Want-Digest`` for
   files without a checksum, ``NEARLINE`` files listed ``offline``
   (:mod:`._pan.dcache`). Downloads follow dCache's 307 redirect to the pool.

Recognised by the landing host (DESY's DOI prefix is shared with its publication database).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import RecordNotFound
from ..http import Http
from ..model import Dataset, Manifest
from ._pan.dcache import list_dcache
from ._pan.net import gather_limited, note
from ._pan.scicat_api import Api, dataset_url, fetch_dataset, fetch_publication, folder_names
from .base import RecordRef, Resolved
from .scicat import configured, doi_in_landing

HOSTS = frozenset({"public-data.desy.de", "public-data-dev.desy.de"})
STORAGE = "https://hifis-storage.desy.de:2880"


class DesyAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for DESY's public-data SciCat + dCache."""

    name = "desy"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        try:
            host = (urlsplit(resolved.landing_url or "").hostname or "").lower()
        except ValueError:
            return None
        doi = resolved.doi or doi_in_landing(resolved.landing_url or "")
        if host not in HOSTS or not doi:
            return None
        return RecordRef(self.name, f"https://{host}/api", doi, "DESY")

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        doi = ref.record_id
        configured_here = configured().get((urlsplit(ref.api_base).hostname or "").lower())
        storage = configured_here.storage if configured_here and configured_here.storage else STORAGE
        apis = [Api(f"{ref.api_base}/v3", "v3"), Api(f"{ref.api_base}/v4", "v4")]
        found = await fetch_publication(http, apis, doi)
        if found is None:
            raise RecordNotFound(f"DESY has no published data {doi} (SciCat at {ref.api_base})", identifier=doi)
        pub, api = found
        datasets = await gather_limited(
            (fetch_dataset(http, api, pid, with_files=False) for pid in pub.dataset_pids), 8)
        base = pub.download_link or storage
        note(http, f"DESY: {len(datasets)} dataset(s) under {base}")
        folders = [dataset_url(base, d.source_folder or "") for d in datasets]
        names = folder_names([d.source_folder or d.pid for d in datasets])
        parts = await gather_limited((list_dcache(http, url, name) for url, name in zip(folders, names)), 4)
        entries = [e for found_entries, _ in parts for e in found_entries]
        warnings = [w for _, found_warnings in parts for w in found_warnings]
        dataset = Dataset(doi=resolved.doi or pub.doi, title=pub.title, creators=pub.creators,
                          publisher=pub.publisher or "DESY", year=pub.year, resource_type=pub.resource_type,
                          repository="DESY", landing_url=resolved.landing_url, record_id=doi)
        if resolved.metadata is not None:
            dataset = dataset.merged(resolved.metadata)
        return Manifest(dataset, tuple(entries), tuple(warnings))


ADAPTER = DesyAdapter()

__all__ = ["ADAPTER", "HOSTS", "STORAGE", "DesyAdapter"]
