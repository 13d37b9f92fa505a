"""SciCat: PublishedData -> datasets -> origdatablocks, for every instance and both API versions.

Why one module for all shapes (research notes pan-apis §3.2, §4): the same publication is served

* by PSI's oai-provider as the raw Mongo document (``_id``, ``creator[]``, ``pidArray``,
  ``downloadLink``), by SciCat ``/api/v3/PublishedData/<doi>`` in the "obsolete" v3 shape
  (the same fields), and by ``/api/v4/publisheddata/<doi>`` with ``datasetPids`` and the former
  top-level fields moved into ``metadata`` (2025-05 migration);
* datasets by ``/api/v3/Datasets/<pid>`` (+ ``/origdatablocks``) or, anonymously,
  ``/api/v4/datasets/public/<pid>?include=origdatablocks``.

SciCat stores no download URL: a file is ``<storage base> + sourceFolder + "/" + path``, where
the storage base is where the facility publishes (PSI's ``downloadLink``, DESY's dCache door).
Some ``pidArray`` entries repeat their prefix (``20.500.11935/20.500.11935/<uuid>``): undone.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from ...errors import Doi2DataError, RepositoryError
from ...filelist import FileList, FileListBuilder
from ...http import Http, raise_for_status
from ...model import HASH_ALGORITHMS, DatasetInfo, FileEntry, normalize_algorithm, normalize_digest
from .._datasets import from_mapping, kind_of, text
from .net import json_or_none, note

Version = Literal["v3", "v4"]


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    out = []
    for item in items:
        name = _str(item) or _str(_map(item).get("name"))
        if name:
            out.append(name)
    return tuple(out)


def normalize_pid(pid: str) -> str:
    """``20.500.11935/20.500.11935/abc`` -> ``20.500.11935/abc`` (a doubled prefix seen in ``pidArray``)."""
    parts = pid.strip().split("/")
    return "/".join(parts[1:]) if len(parts) > 2 and parts[0] == parts[1] else pid.strip()


@dataclass(frozen=True)
class Publication:
    doi: str | None
    title: str | None = None
    creators: tuple[str, ...] = ()
    publisher: str | None = None
    year: int | None = None
    abstract: str | None = None
    resource_type: str | None = None
    download_link: str | None = None
    dataset_pids: tuple[str, ...] = ()
    size: int | None = None
    number_of_files: int | None = None
    status: str | None = None


def parse_publication(doc: Any) -> Publication:
    """Any PublishedData shape (PSI oaipmh, v3, v4) -> :class:`Publication`; junk -> RepositoryError."""
    if not isinstance(doc, Mapping) or not (_str(doc.get("doi")) or _str(doc.get("_id")) or _str(doc.get("pid"))):
        raise RepositoryError("SciCat publication has no DOI (not a PublishedData document)")
    meta = _map(doc.get("metadata"))
    pick = lambda key: doc.get(key) if doc.get(key) not in (None, "", []) else meta.get(key)  # noqa: E731
    pids = doc.get("datasetPids") if isinstance(doc.get("datasetPids"), list) else pick("pidArray")
    year = _int(pick("publicationYear"))
    return Publication(
        doi=_str(doc.get("doi")) or _str(doc.get("_id")) or _str(doc.get("pid")),
        title=_str(doc.get("title")) or _str(meta.get("title")),
        creators=_names(pick("creator")) or _names(pick("creators")) or _names(pick("authors")),
        publisher=_str(pick("publisher")) or _str(_map(pick("publisher")).get("name")),
        year=year, abstract=_str(pick("abstract")), resource_type=_str(pick("resourceType")),
        download_link=_str(pick("downloadLink")),
        dataset_pids=tuple(dict.fromkeys(normalize_pid(p) for p in (pids if isinstance(pids, list) else [])
                                         if isinstance(p, str) and p.strip())),
        size=_int(pick("sizeOfArchive")), number_of_files=_int(pick("numberOfFiles")), status=_str(doc.get("status")),
    )


@dataclass(frozen=True)
class DataFile:
    path: str
    size: int | None
    checksums: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksums", MappingProxyType(dict(self.checksums)))


@dataclass(frozen=True)
class ScicatDataset:
    pid: str
    name: str | None = None
    source_folder: str | None = None
    size: int | None = None
    number_of_files: int | None = None
    files: Sequence[FileEntry] | None = None  # None: origdatablocks not fetched
    #: the dataset's science (named after the dataset's ``datasetName`` here; adapters rename it to its folder)
    about: DatasetInfo | None = None


def dataset_info(doc: Mapping[str, Any], name: str) -> DatasetInfo:
    """A SciCat dataset's science: ``type`` (raw / derived -> processed), ``sampleId`` (v4 ``sampleIds``),
    the first of ``techniques``, ``creationLocation`` (else ``instrumentId``/``instrumentIds``),
    ``startTime`` (else ``creationTime``) / ``endTime``, and ``scientificMetadata`` one level deep
    (``{name: {value, unit}}`` or ``{name: value}``).

    Fields as in SciCat's dataset documents (e.g. ``creationLocation: "/DESY/PETRA III/P00"``,
    ``instrumentId: "/petra3/p00"``, ``endTime``, ``creationTime`` in public SciCat ingestion examples
    found with the code search, checked 2026-12-06); ``scientificMetadata`` as ``{value, unit}`` is the
    convention of SciCat frontends and ingestors, not a schema, so bare values are read too.
    """
    def first(key: str) -> Any:
        value = doc.get(key)
        return value[0] if isinstance(value, list) and value else None
    technique = first("techniques")
    return DatasetInfo(
        name, kind_of(doc.get("type")), text(doc.get("sampleId")) or text(first("sampleIds")),
        text(_map(technique).get("name")) or text(technique),
        text(doc.get("creationLocation")) or text(doc.get("instrumentId")) or text(first("instrumentIds")),
        text(doc.get("startTime")) or text(doc.get("creationTime")), text(doc.get("endTime")),
        from_mapping(doc.get("scientificMetadata")))


_HASHES = frozenset(HASH_ALGORITHMS)
#: a file of an origdatablock: (path relative to the dataset's source folder, size, checksums)
Row = tuple[str, int | None, dict[str, str]]


def file_row(path: Any, size: Any, chk: Any, algorithm: str, prefix: str, problems: list[str] | None) -> Row | None:
    """One ``dataFileList`` entry's fields (``path``, ``size``, ``chk``; the block's normalised
    ``chkAlg``) -> its row, ``None`` without a usable path. The one rule for whole documents
    (:func:`parse_origdatablocks`) and streamed ones (:mod:`.scicat_files`)."""
    if not isinstance(path, str) or not (path := path.strip()):
        if problems is not None:
            problems.append("a dataFileList entry has no path")
        return None
    if prefix != "/" and path.startswith(prefix):
        path = path[len(prefix):]
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    path = path.lstrip("/").removeprefix("./")
    checksums = {}
    chk = chk.strip() if isinstance(chk, str) else None
    if chk and algorithm in _HASHES and (digest := normalize_digest(algorithm, chk)):
        checksums[algorithm] = digest
    elif chk and algorithm and problems is not None:
        problems.append(f"{path}: checksum algorithm {algorithm!r} not usable; not verified by it")
    return (path, _int(size), checksums) if path else None


def folder_prefix(source_folder: str | None) -> str:
    """What a ``path`` that repeats the source folder starts with (cut off by :func:`file_row`)."""
    return (source_folder or "").rstrip("/") + "/"


def parse_origdatablocks(blocks: Any, source_folder: str | None = None) -> tuple[FileList, list[str]]:
    """``[{chkAlg, dataFileList: [{path, size, chk}]}]`` -> files (paths relative to the source folder).

    Kept as a compact :class:`~doi2data.filelist.FileList` (no URLs yet) as the blocks are read:
    a dataset may list hundreds of thousands of files.
    """
    files = FileListBuilder()
    seen: set[str] = set()
    problems: list[str] = []
    prefix = folder_prefix(source_folder)
    for block in blocks if isinstance(blocks, list) else []:
        block = _map(block)
        algorithm = normalize_algorithm(_str(block.get("chkAlg")) or "")
        listed = block.get("dataFileList")
        for raw in listed if isinstance(listed, list) else []:
            raw = _map(raw)
            row = file_row(raw.get("path"), raw.get("size"), raw.get("chk"), algorithm, prefix, problems)
            if row is not None and row[0] not in seen:
                seen.add(row[0])
                files.append(FileEntry(*row))
    return files.build(), problems


def parse_dataset(doc: Any) -> ScicatDataset:
    if not isinstance(doc, Mapping) or not _str(doc.get("pid")):
        raise RepositoryError("SciCat dataset has no pid")
    folder = _str(doc.get("sourceFolder"))
    files = None
    if isinstance(doc.get("origdatablocks"), list):
        files = parse_origdatablocks(doc["origdatablocks"], folder)[0]
    pid, name = normalize_pid(str(doc["pid"])), _str(doc.get("datasetName"))
    return ScicatDataset(pid, name, folder, _int(doc.get("size")), _int(doc.get("numberOfFiles")), files,
                         dataset_info(doc, name or pid))


def dataset_url(download_link: str, source_folder: str) -> str:
    """Where a dataset folder is published under ``download_link`` (ends with ``/``).

    PSI's publisher puts ``https://<server>/datasets<sourceFolder>`` for each dataset and sets
    ``downloadLink`` to their common parent, so the end of the link overlaps the start of the
    source folder: ``…/datasets/sls/X02DA/disk1`` + ``/sls/X02DA/disk1/h1/tif`` -> ``…/disk1/h1/tif/``.
    """
    link = download_link.rstrip("/")
    head = [s for s in urlsplit(link).path.split("/") if s]
    tail = [quote(s, safe="!$&'()*+,;=:@~") for s in source_folder.split("/") if s]
    overlap = next((k for k in range(min(len(head), len(tail)), 0, -1) if [unquote(h) for h in head[-k:]]
                    == [unquote(t) for t in tail[:k]]), 0)
    rest = "/".join(tail[overlap:])
    return f"{link}/{rest}/" if rest else f"{link}/"


def folder_names(paths: Sequence[str]) -> list[str]:
    """Top-level directory per dataset: the folder's last segment, more segments only on clashes."""
    segments = [[unquote(s) for s in urlsplit(p).path.split("/") if s] or ["dataset"] for p in paths]
    depth = [1] * len(paths)
    while True:
        names = ["/".join(s[-d:]) for s, d in zip(segments, depth)]
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes or all(depth[i] >= len(segments[i]) for i, n in enumerate(names) if n in clashes):
            break
        depth = [d + 1 if names[i] in clashes and d < len(segments[i]) else d for i, d in enumerate(depth)]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}~{seen[name]}")
    return out


@dataclass(frozen=True)
class Api:
    """One SciCat API root, e.g. ``https://dacat.psi.ch/api/v3``."""

    base: str
    version: Version

    def publication(self, doi: str) -> str:
        name = "PublishedData" if self.version == "v3" else "publisheddata"
        return f"{self.base}/{name}/{quote(doi, safe='')}"

    def dataset(self, pid: str) -> str:
        if self.version == "v4":
            return f"{self.base}/datasets/public/{quote(pid, safe='')}"
        return f"{self.base}/Datasets/{quote(pid, safe='')}"


async def fetch_publication(http: Http, apis: Sequence[Api], doi: str) -> tuple[Publication, Api] | None:
    """The first API (in order) that knows the DOI; ``None`` when none does."""
    for api in apis:
        url = api.publication(doi)
        try:
            response = await http.request("GET", url, headers={"Accept": "application/json"})
        except Doi2DataError as exc:
            note(http, f"SciCat {api.version} {url}: {exc}")
            continue
        doc = json_or_none(response)
        note(http, f"SciCat {api.version} PublishedData {url} -> HTTP {response.status_code}")
        if doc is not None:
            try:
                return parse_publication(doc), api
            except RepositoryError:
                continue
    return None


async def fetch_dataset(http: Http, api: Api, pid: str, *, with_files: bool) -> ScicatDataset:
    """A dataset (``sourceFolder``), with its origdatablocks when ``with_files``."""
    url = api.dataset(pid)
    params = {"include": "origdatablocks"} if with_files and api.version == "v4" else None
    doc = await http.get_json(url, params=params, what=f"SciCat dataset {pid}")
    dataset = parse_dataset(doc)
    if with_files and dataset.files is None:
        blocks = await http.get_json(f"{url}/origdatablocks", what=f"SciCat origdatablocks of {pid}")
        files, _ = parse_origdatablocks(blocks, dataset.source_folder)
        dataset = replace(dataset, files=files)
    del doc
    if not with_files:
        return dataset
    # the answer's bytes stay in a reference cycle (httpx Response <-> BoundAsyncStream) that only the
    # cyclic collector frees, and bytes do not count towards its thresholds: 100 datasets of 10,000
    # files kept ~240 MB of dead bodies. The response is in the oldest generation by now (the parse
    # made thousands of dicts), so a full pass; the compact file lists add almost nothing to traverse.
    gc.collect()
    return dataset


async def probe_json(http: Http, url: str) -> Any:
    """GET ``url`` as JSON, ``None`` on any HTTP error or non-JSON answer (discovery probes)."""
    try:
        response = await http.request("GET", url, headers={"Accept": "application/json"})
        raise_for_status(response, what="discovery")
    except Doi2DataError:
        return None
    return json_or_none(response)


__all__ = ["Api", "DataFile", "Publication", "Row", "ScicatDataset", "dataset_info", "dataset_url", "fetch_dataset",
           "fetch_publication", "file_row", "folder_names", "folder_prefix", "normalize_pid", "parse_dataset",
           "parse_origdatablocks", "parse_publication", "probe_json"]
