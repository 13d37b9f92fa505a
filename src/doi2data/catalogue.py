"""``--catalogue URL``: the datasets inside a DOI from a PaN search API, where its repository lists none.

Why opt-in: the photon and neutron catalogues (the PaNOSC search API, federated or a facility's own)
know the datasets behind a publication DOI - title, instrument, techniques, parameters with units,
samples, and their files - but asking costs one more request to another service on every resolve.
So it runs only when asked (``--catalogue URL``, ``--catalogue default`` for the public federated
search, or ``catalogue=`` in the Python API), and only for a manifest whose own source gave no
datasets (ESRF ICAT+, SciCat and PSI adapters know theirs better).

Wire shape (panosc-eu/search-api ``doc/data-model.md`` and ``doc/api-calls.md``, read 2026-12-06;
the emulator in :mod:`doi2data.sandbox.sites.pansearch` follows it): ``GET /Documents?filter=`` with
a LoopBack filter ``{"where": {"pid": DOI}, "include": [{"relation": "datasets", "scope": {"include":
[{"relation": "parameters"}, {"relation": "techniques"}, {"relation": "instrument"}, {"relation":
"files"}, {"relation": "samples"}]}}]}``; a Dataset carries ``pid, title, creationDate, instrument
{name, facility}, techniques [{name}], parameters [{name, value, unit}], samples [{name}], files
[{name, path, size}]``. The PaN model has no raw/processed kind: datasets are ``other``.

A catalogue file names a manifest file when ``path/name`` (or ``name`` alone, if only one manifest
file has it) is the end of the manifest path; files no dataset names keep ``dataset=None``. Every
value is bounded (:mod:`doi2data.adapters._datasets`); the answer is read like every API body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from .adapters._datasets import parameter, parameters, text
from .errors import UsageError
from .http import Http
from .model import DatasetInfo, Manifest

DEFAULT = "default"
MAX_DATASETS = 1000
MAX_FILES = 1_000_000
_ACTIVE: ContextVar[str | None] = ContextVar("doi2data_catalogue", default=None)


def endpoint_of(value: str | None) -> str | None:
    """``default`` -> the public federated PaN search; a URL as given (https only); None -> off."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value == DEFAULT:
        from .search.panosc import DEFAULT_ENDPOINT

        return DEFAULT_ENDPOINT
    if not value.startswith("https://") or len(value) > 2000 or any(c.isspace() for c in value):
        raise UsageError(f"--catalogue takes 'default' or an https:// PaN search API URL, not {value[:80]!r}")
    return value.rstrip("/")


@contextmanager
def catalogue_source(value: str | None) -> Iterator[None]:
    """Ask the catalogue at ``value`` (see :func:`endpoint_of`) for every manifest built meanwhile."""
    token = _ACTIVE.set(endpoint_of(value))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> str | None:
    return _ACTIVE.get()


def document_filter(doi: str) -> dict[str, Any]:
    """The LoopBack filter for one DOI's Document with its datasets and their relations (pure)."""
    scope = {"include": [{"relation": r} for r in ("parameters", "techniques", "instrument", "files", "samples")]}
    return {"where": {"pid": doi}, "include": [{"relation": "datasets", "scope": scope}], "limit": 1}


def _items(value: Any, limit: int) -> list[Mapping[str, Any]]:
    return [v for v in value[:limit] if isinstance(v, Mapping)] if isinstance(value, list) else []


def _first_name(value: Any) -> str | None:
    return next((n for v in _items(value, 50) if (n := text(v.get("name")))), None)


def parse_document(doc: Any) -> list[tuple[DatasetInfo, list[tuple[str | None, str]]]]:
    """``[(dataset, [(path, name) of its files])]`` from a ``/Documents`` answer (pure)."""
    documents = _items(doc, 1)
    if not documents:
        return []
    out = []
    for raw in _items(documents[0].get("datasets"), MAX_DATASETS):
        name = text(raw.get("title")) or text(raw.get("pid"))
        if name is None:
            continue
        instrument = raw.get("instrument") if isinstance(raw.get("instrument"), Mapping) else {}
        info = DatasetInfo(
            name=name, kind="other", sample=_first_name(raw.get("samples")), technique=_first_name(raw.get("techniques")),
            instrument=text(instrument.get("name")), start=text(raw.get("creationDate")),
            parameters=parameters(parameter(p.get("name"), p.get("value"), p.get("unit"))
                                  for p in _items(raw.get("parameters"), 800)))
        files = [(text(f.get("path"), 1000) if isinstance(f.get("path"), str) else None, fname)
                 for f in _items(raw.get("files"), MAX_FILES)
                 if isinstance(f.get("name"), str) and (fname := text(f.get("name"), 1000))]
        out.append((info, files))
    return out


def assign(paths: Sequence[str], found: list[tuple[DatasetInfo, list[tuple[str | None, str]]]]) -> dict[str, str]:
    """Manifest path -> dataset name, by ``path/name`` suffix, else a ``name`` that only one path has (pure)."""
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    owner: dict[str, str] = {}
    for info, files in found:
        for folder, name in files:
            candidates = by_name.get(name.rsplit("/", 1)[-1], [])
            folder = (folder or "").strip("/")
            full = f"{folder}/{name}" if folder else name
            exact = [p for p in candidates if p == full or (folder and p.endswith("/" + full))]
            chosen = exact if exact else (candidates if len(candidates) == 1 else [])
            for path in chosen:
                owner.setdefault(path, info.name)
    return owner


async def enrich(manifest: Manifest, http: Http, endpoint: str) -> Manifest:
    """``manifest`` with the catalogue's datasets, when its source gave none and the catalogue knows the DOI."""
    doi = manifest.dataset.doi
    if manifest.datasets or not doi:
        return manifest
    url = f"{endpoint}/Documents"
    doc = await http.get_json(url, params={"filter": json.dumps(document_filter(doi), separators=(",", ":"))},
                              what=f"PaN catalogue entry of {doi}")
    found = parse_document(doc)
    if not found:
        return replace(manifest, warnings=(*manifest.warnings, f"the catalogue at {endpoint} lists no datasets for {doi}"))
    owner = assign([f.path for f in manifest.files], found)
    http.trace.append(f"catalogue: {len(found)} dataset(s) of {doi} from {endpoint}, {len(owner)} file(s) placed")
    placed = manifest if not owner else manifest.with_files(
        replace(f, dataset=owner[f.path]) if f.path in owner else f for f in manifest.files)
    return replace(placed, datasets=tuple(info for info, _ in found))


__all__ = ["DEFAULT", "active", "assign", "catalogue_source", "document_filter", "endpoint_of", "enrich",
           "parse_document"]
