"""The common manifest model every adapter produces and every consumer reads.

Frozen, typed values: an adapter turns repository JSON into a :class:`Manifest`; the transfer
engine, exporters and the gateway only ever see this model, never repository JSON. Checksums
are ``{algorithm: lowercase hex}`` with algorithm names from :data:`HASH_ALGORITHMS`, so
Metalink, ``sha256sum`` lists and verification can be produced mechanically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .display import render
from .entry import (ACCESS_VALUES, HASH_ALGORITHMS, Access, FileEntry, digest_length, normalize_algorithm,
                    normalize_digest, parse_prefixed_checksum, split_checksums)
from .filelist import FileList


@dataclass(frozen=True)
class Dataset:
    """What the dataset is: DataCite-style descriptive metadata plus where it lives."""

    doi: str | None
    title: str | None = None
    creators: tuple[str, ...] = ()
    publisher: str | None = None
    year: int | None = None
    version: str | None = None
    license: str | None = None
    resource_type: str | None = None
    repository: str | None = None
    landing_url: str | None = None
    record_id: str | None = None
    concept_doi: str | None = None
    version_doi: str | None = None
    access: Access = "open"
    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "creators", tuple(self.creators))

    def merged(self, other: Dataset) -> Dataset:
        """Fill this record's empty fields from ``other`` (this one wins where both know)."""
        updates = {k: v for k, v in vars(other).items() if v not in (None, ()) and getattr(self, k) in (None, ())}
        return replace(self, **updates) if updates else self

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["creators"] = list(self.creators)
        return data


DatasetKind = Literal["raw", "processed", "other"]
DATASET_KINDS: tuple[DatasetKind, ...] = ("raw", "processed", "other")
#: one scientific parameter of a dataset: ``(name, value, unit)``; value a float when numeric, else text
Parameter = tuple[str, "float | str", "str | None"]


def _parameter(raw: Any) -> Parameter | None:
    """``[name, value, unit]`` (a list from JSON, or a tuple) -> a :data:`Parameter`; None if unusable."""
    if not isinstance(raw, (list, tuple)) or len(raw) != 3 or not isinstance(raw[0], str):
        return None
    value, unit = raw[1], raw[2]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return (raw[0], float(value) if isinstance(value, int) else value, unit if isinstance(unit, str) else None)


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset inside a DOI (an ESRF ICAT+ dataset, a SciCat dataset, a PSI dataset folder...).

    Why in the manifest: a DOI may gather raw and processed data of many samples; files name their
    dataset (:attr:`FileEntry.dataset`) so ``--dataset`` can choose by science, not by path.
    ``kind`` is ``raw`` / ``processed`` / ``other``; ``start``/``end`` ISO 8601 text as the source gives it.
    """

    name: str
    kind: DatasetKind = "other"
    sample: str | None = None
    technique: str | None = None
    instrument: str | None = None
    start: str | None = None
    end: str | None = None
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(p for p in map(_parameter, self.parameters) if p is not None))
        if self.kind not in DATASET_KINDS:
            raise ValueError(f"kind must be one of {DATASET_KINDS}, not {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sample": self.sample, "technique": self.technique,
                "instrument": self.instrument, "start": self.start, "end": self.end,
                "parameters": [{"name": n, "value": v, "unit": u} for n, v, u in self.parameters]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetInfo:
        """Inverse of :meth:`to_json` (the gateway's cache); unknown keys ignored."""
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None
        kind = data.get("kind")
        params = [(p.get("name"), p.get("value"), p.get("unit")) for p in data.get("parameters") or ()
                  if isinstance(p, Mapping)]
        return cls(str(data.get("name") or ""), kind if kind in DATASET_KINDS else "other", text("sample"),
                   text("technique"), text("instrument"), text("start"), text("end"), tuple(params))


@dataclass(frozen=True)
class LayerAttempt:
    """One detection layer the resolver tried: its name, whether it matched, and why (not)."""

    layer: str
    matched: bool
    detail: str
    requests: int = 0          # HTTP round trips this layer made

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "matched": self.matched, "detail": self.detail, "requests": self.requests}


@dataclass(frozen=True)
class Discovery:
    """How a manifest was found (``--explain``): the layers tried, the route, the request count."""

    layer: str | None                      # the layer that matched (None: nothing did)
    adapter: str | None                    # the adapter that listed the files
    reason: str                            # why that layer matched
    landing_url: str | None = None
    attempts: tuple[LayerAttempt, ...] = ()
    route: tuple[str, ...] = ()            # every HTTP request, "METHOD url", in order
    requests: int = 0                      # total round trips: resolve + detect + list
    resolve_requests: int = 0
    detect_requests: int = 0
    list_requests: int = 0
    notes: tuple[str, ...] = ()            # the adapter's own notes on its route

    def __post_init__(self) -> None:
        object.__setattr__(self, "attempts", tuple(self.attempts))
        object.__setattr__(self, "route", tuple(self.route))
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["attempts"] = [a.to_json() for a in self.attempts]
        data["route"] = list(self.route)
        data["notes"] = list(self.notes)
        return data


#: The version of the :meth:`Manifest.to_json` contract, named in every ``ls --json`` and gateway
#: JSON document; its JSON Schema ships as ``doi2data/schemas/manifest-1.schema.json``. Adding a field
#: keeps the version; removing or retyping one makes ``doi2data-manifest/2``.
MANIFEST_SCHEMA = "doi2data-manifest/1"


@dataclass(frozen=True)
class Manifest:
    """A dataset and its files: the single currency between resolver, engine and outputs."""

    dataset: Dataset
    #: a :class:`~doi2data.filelist.FileList` (compact columns; any iterable of entries is converted)
    files: Sequence[FileEntry] = ()
    warnings: tuple[str, ...] = ()
    #: how the resolver found it (``--explain``); not part of equality nor of :meth:`to_json`
    discovery: Discovery | None = field(default=None, compare=False, repr=False)
    #: the datasets inside the DOI, where the source knows them (files name theirs); empty otherwise
    datasets: tuple[DatasetInfo, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", FileList.of(self.files))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "datasets", tuple(self.datasets))

    @property
    def total_size(self) -> int:
        return self.files.total_size()  # type: ignore[attr-defined]

    @property
    def sizes_known(self) -> bool:
        return self.files.sizes_known()  # type: ignore[attr-defined]

    @property
    def checksum_warnings(self) -> list[str]:
        """Notes on every malformed checksum among the files (see :meth:`FileEntry.checksum_problems`)."""
        return [note for f in self.files.irregular() if f.bad_checksums  # type: ignore[attr-defined]
                for note in f.checksum_problems()]

    def with_files(self, files: Iterable[FileEntry]) -> Manifest:
        return replace(self, files=FileList.of(files))

    def to_json(self) -> dict[str, Any]:
        """The ``ls --json`` contract, versioned by :data:`MANIFEST_SCHEMA`: ``schema, doi, title, repository,
        files[path,size,checksums,url,access]``."""
        ds = self.dataset
        return {
            "schema": MANIFEST_SCHEMA,
            "doi": ds.doi,
            "title": ds.title,
            "repository": ds.repository,
            "landing_url": ds.landing_url,
            "dataset": ds.to_json(),
            "total_size": self.total_size,
            "file_count": len(self.files),
            "files": [f.to_json() for f in self.files],
            "warnings": list(self.warnings),
            "datasets": [d.to_json() for d in self.datasets],
        }

    def __repr__(self) -> str:
        """One line (the dataclass repr printed every file: megabytes for a big dataset)."""
        return render("manifest_repr", self,
                      lambda: f"<Manifest {self.dataset.doi or self.dataset.title}: {len(self.files)} files>")

    def _repr_html_(self) -> str:
        """Jupyter display: see :func:`doi2data.notebook.manifest_html` (bounded, escaped)."""
        return render("manifest_html", self)

    def to_pandas(self) -> Any:
        """The files as a ``pandas.DataFrame`` with typed columns (``pip install 'doi2data[pandas]'``)."""
        return render("manifest_frame", self)


__all__ = [
    "ACCESS_VALUES",
    "DATASET_KINDS",
    "HASH_ALGORITHMS",
    "MANIFEST_SCHEMA",
    "Access",
    "Dataset",
    "DatasetInfo",
    "DatasetKind",
    "Discovery",
    "FileEntry",
    "LayerAttempt",
    "Manifest",
    "digest_length",
    "normalize_algorithm",
    "normalize_digest",
    "parse_prefixed_checksum",
    "split_checksums",
]
