"""Any SciCat instance (ESS, MAX IV, HZDR, ILL, ... and ones configured by the user), v3 and v4.

Route (research notes pan-apis §4): ``PublishedData/<doi>`` (v4 ``publisheddata``: anonymous sees
public, registered and amended; v3: registered only) -> ``datasetPids`` / ``pidArray`` ->
each dataset with its origdatablocks (``path``, ``size``, ``chk`` named by ``chkAlg``). Each dataset
is a folder of the manifest and one of its ``datasets`` (type raw / derived, sample, technique,
scientific metadata with units: :func:`~doi2data.adapters._pan.scicat_api.dataset_info`); files name it.
The dataset documents come first (their folders name the files), then each dataset's origdatablocks,
streamed in dataset order (:mod:`~doi2data.adapters._pan.scicat_files`): a publication may hold a
million files, and each becomes its entry once, in :func:`scicat_manifest`.

SciCat stores no download URL, so a file's URL is ``<base><sourceFolder>/<path>`` where the base
is the publication's ``downloadLink`` when it has one, else the storage base configured for the
instance. Without either the files are still listed (names, sizes, checksums) with a note.

Instances: a built-in table of known hosts; ``DOI2DATA_SCICAT`` for others
(``"host api=https://host/api storage=https://files.host, host2 api=…"``); and discovery from a
landing page ``https://<host>/detail/<doi>`` (the SciCat landing-page route): the frontend's
``/assets/config.json`` names the backend (``lbBaseURL``), else the landing host is tried.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from ..entry_stream import emit
from ..errors import RecordNotFound, UnsupportedRepository
from ..http import Http
from ..filelist import FileListBuilder
from ..model import Dataset, DatasetInfo, FileEntry, Manifest
from ._pan.net import gather_limited, generic_fallback, note
from ._pan.scicat_api import Api, dataset_url, fetch_dataset, fetch_publication, folder_names, probe_json
from ._pan.scicat_files import DatasetFiles
from .base import RecordRef, Resolved

_DOI_PATH = re.compile(r"/detail/(10\.\d{4,9}/[^?#\s]+?)/?$")


@dataclass(frozen=True)
class Instance:
    """A SciCat installation: its API root (``…/api``, versions appended) and where files are served."""

    host: str
    api: str
    storage: str | None = None
    name: str | None = None


KNOWN: dict[str, Instance] = {i.host: i for i in (
    Instance("scicat.ess.eu", "https://scicat.ess.eu/api", name="ESS SciCat"),
    Instance("scicat.maxiv.lu.se", "https://scicat.maxiv.lu.se/api", name="MAX IV SciCat"),
    Instance("scicat.hzdr.de", "https://scicat.hzdr.de/api", name="HZDR SciCat"),
    Instance("scicat.ill.fr", "https://scicat.ill.fr/api", name="ILL SciCat"),
    Instance("discovery.psi.ch", "https://dacat.psi.ch/api", "https://doi.psi.ch/datasets", "PSI SciCat"),
)}


def configured(env: Mapping[str, str] | None = None) -> dict[str, Instance]:
    """Instances from ``DOI2DATA_SCICAT`` (comma-separated ``host api=URL [storage=URL]`` entries)."""
    env = os.environ if env is None else env
    out = {}
    for item in (env.get("DOI2DATA_SCICAT") or "").split(","):
        words = item.split()
        if not words:
            continue
        host, *pairs = words
        values = dict(p.partition("=")[::2] for p in pairs if "=" in p)
        api = values.get("api") or f"https://{host}/api"
        out[host.lower()] = Instance(host.lower(), api.rstrip("/").removesuffix("/v3").removesuffix("/v4"),
                                     values.get("storage"), values.get("name"))
    return out


def instance_for(host: str) -> Instance | None:
    host = host.lower()
    return configured().get(host) or KNOWN.get(host)


def doi_in_landing(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for _ in range(3):
        path = unquote(path)
    found = _DOI_PATH.search(path)
    return found.group(1) if found else None


async def discover(http: Http, origin: str) -> Instance:
    """The SciCat backend behind a landing host: the frontend config's ``lbBaseURL``, else the host."""
    host = urlsplit(origin).hostname or origin
    config = await probe_json(http, f"{origin}/assets/config.json")
    base = config.get("lbBaseURL") if isinstance(config, Mapping) else None
    if isinstance(base, str) and base.startswith(("http://", "https://")) and "127.0.0.1" not in base \
            and "localhost" not in base:
        note(http, f"SciCat backend {base} from {origin}/assets/config.json")
        return Instance(host, base.rstrip("/").removesuffix("/api") + "/api")
    note(http, f"no SciCat frontend config at {origin}: trying {origin}/api")
    return Instance(host, f"{origin}/api")


async def scicat_manifest(http: Http, instance: Instance, doi: str, resolved: Resolved,
                          repository: str) -> Manifest:
    """Publication -> datasets (with origdatablocks) -> entries ``<dataset folder>/<path>``."""
    apis = [Api(f"{instance.api}/v4", "v4"), Api(f"{instance.api}/v3", "v3")]
    found = await fetch_publication(http, apis, doi)
    if found is None:
        raise RecordNotFound(f"{repository} has no published data {doi} (SciCat v4 and v3 at {instance.api})",
                             identifier=doi)
    pub, api = found
    # the datasets' own documents first (small): their folders name every file; then the files, one
    # dataset after the other, streamed (_pan.scicat_files): a publication may hold a million files
    datasets = await gather_limited((fetch_dataset(http, api, pid, with_files=False) for pid in pub.dataset_pids), 8)
    base = pub.download_link or instance.storage
    names = folder_names([d.source_folder or d.pid for d in datasets])
    entries = FileListBuilder()  # compact as it grows
    warnings: list[str] = []
    infos: list[DatasetInfo] = []
    async with DatasetFiles(http, api, datasets) as files:
        for i, (dataset, name) in enumerate(zip(datasets, names)):
            folder = dataset_url(base, dataset.source_folder or "") if base else None
            infos.append(replace(dataset.about, name=name) if dataset.about is not None else DatasetInfo(name))
            # the paths already listed, as the very strings the entries keep (a set of references only)
            listed: set[str] = set()
            async with aclosing(files.pages(i)) as pages:
                async for rows in pages:
                    for path, size, checksums in rows:  # the one place a file's entry is made, in the final order
                        full = f"{name}/{path}"
                        if full in listed:  # listed twice: the first is the file
                            continue
                        listed.add(full)
                        url = folder + quote(path, safe="/!$&'()*+,;=:@~") if folder else None
                        entry = FileEntry(full, size, checksums, (url,) if url else (), dataset=name)
                        entries.append(entry)
                        emit(entry)  # final: `ls --format ndjson|urls|...` prints it now (entry_stream)
            if not listed:
                warnings.append(f"dataset {dataset.pid} lists no files (no origdatablocks)")
    if base is None:
        warnings.append(f"{repository} gives no download location (no downloadLink); set its storage base with "
                        f"DOI2DATA_SCICAT='{instance.host} storage=https://…' to download")
    ds = Dataset(doi=resolved.doi or pub.doi, title=pub.title, creators=pub.creators, publisher=pub.publisher,
                 year=pub.year, resource_type=pub.resource_type, repository=repository,
                 landing_url=resolved.landing_url, record_id=doi)
    if resolved.metadata is not None:
        ds = ds.merged(resolved.metadata)
    return Manifest(ds, entries.build(), tuple(warnings), datasets=tuple(infos))


class ScicatAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for SciCat publications on any instance."""

    name = "scicat"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = resolved.landing_url or ""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not host:
            return None
        doi = resolved.doi or doi_in_landing(url)
        inst = instance_for(host)
        if doi and inst is not None:
            return RecordRef(self.name, inst.api, doi, inst.name or host)
        if doi and doi_in_landing(url):
            return RecordRef(self.name, f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}", doi, host)
        return None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        inst = next((i for i in (*configured().values(), *KNOWN.values()) if i.api == ref.api_base), None)
        known = inst is not None
        if inst is None:
            inst = await discover(http, ref.api_base)
        try:
            return await scicat_manifest(http, inst, ref.record_id, resolved, ref.repository)
        except RecordNotFound as exc:
            if known:
                raise
            if (found := await generic_fallback(resolved, http)) is not None:
                return found
            raise UnsupportedRepository(f"no SciCat publication for {ref.record_id} behind {resolved.landing_url} "
                                        f"({exc})", identifier=resolved.identifier, url=resolved.landing_url) from exc


ADAPTER = ScicatAdapter()

__all__ = ["ADAPTER", "KNOWN", "Instance", "ScicatAdapter", "configured", "discover", "doi_in_landing",
           "instance_for", "scicat_manifest"]
