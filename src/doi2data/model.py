"""The common manifest model every adapter produces and every consumer reads.

Frozen, typed values: an adapter turns repository JSON into a :class:`Manifest`; the transfer
engine, exporters and the gateway only ever see this model, never repository JSON. Checksums
are ``{algorithm: lowercase hex}`` with algorithm names from :data:`HASH_ALGORITHMS`, so
Metalink, ``sha256sum`` lists and verification can be produced mechanically.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from .filelist import FileList

#: ``open``: downloadable; ``restricted``: needs a token; ``embargoed``: not before a date;
#: ``offline``: on tape or gone (a restore may help); ``external``: the URL points at another site
#: (e.g. a Figshare link-only file), not at the bytes, so nothing is downloaded or verified.
Access = Literal["open", "restricted", "embargoed", "offline", "external"]
ACCESS_VALUES: tuple[Access, ...] = ("open", "restricted", "embargoed", "offline", "external")

#: Algorithm names the model knows, lower case, as used in ``checksums`` keys (hashlib's own
#: spelling for SHA-3: ``sha3_256``).
HASH_ALGORITHMS: tuple[str, ...] = (
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
    "blake2b", "blake2s", "adler32", "crc32c", "crc32",
)

_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
                "sha3_224": 56, "sha3_256": 64, "sha3_384": 96, "sha3_512": 128, "blake2b": 128, "blake2s": 64,
                "adler32": 8, "crc32c": 8, "crc32": 8}
_HEX = re.compile(r"[0-9a-f]+")
_ALIASES = {"sha-1": "sha1", "sha-256": "sha256", "sha-512": "sha512", "md-5": "md5", "adler-32": "adler32",
            "sha": "sha1", "adler": "adler32", "blake2b512": "blake2b", "blake2s256": "blake2s",
            "blake2b-512": "blake2b", "blake2s-256": "blake2s"}
MAX_NAME = 64      # longer algorithm names are not names
MAX_DIGEST = 256   # longer values of an algorithm we cannot check are not digests


def normalize_algorithm(name: str) -> str:
    """``"SHA-256"`` -> ``"sha256"``, ``"SHA3-256"`` -> ``"sha3_256"``; unknown names are lower-cased and kept."""
    key = name.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    flat = key.replace("-", "")
    if flat.startswith("sha3") and flat[4:] in ("224", "256", "384", "512"):
        return "sha3_" + flat[4:]
    return _ALIASES.get(flat, flat)


def digest_length(algorithm: str) -> int | None:
    """Hex digits a digest of ``algorithm`` has (None: an algorithm the model does not know)."""
    return _HEX_LENGTHS.get(normalize_algorithm(algorithm))


def normalize_digest(algorithm: str, value: str) -> str | None:
    """Return the digest as lower-case hex, accepting hex or base64; ``None`` if unusable.

    Repositories send hex (Zenodo ``md5:…``), base64 (dCache ``Digest: md5=…``) or padded
    adler32 (``0a1b2c3``); anything that does not decode to the algorithm's length is dropped
    rather than trusted.
    """
    algorithm = normalize_algorithm(algorithm)
    text = value.strip()
    want = _HEX_LENGTHS.get(algorithm)
    if want is None:
        return text.lower() if 0 < len(text) <= MAX_DIGEST else None
    low = text.lower()
    if len(low) <= want and _HEX.fullmatch(low):
        if len(low) == want:
            return low
        if algorithm in ("adler32", "crc32", "crc32c"):
            return low.zfill(want)
        return None
    if len(text) > 2 * want:
        return None  # no base64 of the right length is this long: do not decode it
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) * 2 == want else None


def parse_prefixed_checksum(value: str | None) -> dict[str, str]:
    """``"md5:abc…"`` -> ``{"md5": "abc…"}``; empty dict when absent.

    A malformed value is passed on as given (``"md5:1234"`` -> ``{"md5": "1234"}``, no prefix ->
    ``{"": value}``) so that :class:`FileEntry` reports it instead of it vanishing.
    """
    if not value or not value.strip():
        return {}
    algorithm, sep, digest = value.partition(":")
    if not sep:
        return {"": value}
    name = normalize_algorithm(algorithm)
    return {name: normalize_digest(name, digest) or digest}


def split_checksums(raw: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> tuple[dict[str, str], dict[str, str]]:
    """``(usable, malformed)``: digests normalised to lower-case hex under canonical algorithm
    names, and the values that cannot be digests (wrong length, not hex/base64, no algorithm), as
    given (shortened) so they can be reported. Empty values count as not given.

    Why here: every adapter builds a :class:`FileEntry`, so no repository's bad checksum can be
    silently dropped or, worse, trusted. An algorithm the model does not know (``blake3``) is
    kept: the transfer reports it as not checkable.
    """
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    for name, value in (raw.items() if isinstance(raw, Mapping) else raw or ()):
        want = _HEX_LENGTHS.get(name) if type(name) is str else None
        if want is not None and type(value) is str and len(value) == want and _HEX.fullmatch(value):
            digest: str | None = value  # already canonical (the adapters' usual case): no work
            algo = name
        else:
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            algo = normalize_algorithm(name) if isinstance(name, str) and len(name) <= MAX_NAME else ""
            digest = normalize_digest(algo, value) if algo and isinstance(value, str) else None
        if digest is None or good.get(algo, digest) != digest:
            shown = str(value)
            bad[algo or "?"] = shown if len(shown) <= 80 else shown[:77] + "..."
        else:
            good[algo] = digest
    return good, bad


_NONE: Mapping[str, str] = MappingProxyType({})


def _none() -> Mapping[str, str]:
    return _NONE


def _canonical(checksums: dict[str, Any]) -> bool:
    """Every value already lower-case hex of its algorithm's length (what adapters usually pass)."""
    for name, value in checksums.items():
        if type(value) is not str or _HEX_LENGTHS.get(name) != len(value) or not _HEX.fullmatch(value):
            return False
    return True


def _frozen_mapping(value: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class FileEntry:
    """One file of a dataset.

    ``path`` is the repository's relative name with ``/`` separators, exactly as the repository
    gives it; it is made safe only when written to disk (:mod:`doi2data.paths`), so listings
    still show the truth.
    """

    path: str
    size: int | None = None
    checksums: Mapping[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()
    media_type: str | None = None
    access: Access = "open"
    note: str | None = None
    #: checksums the repository gave that cannot be digests (``md5: "1234"``): shown, never used
    bad_checksums: Mapping[str, str] = field(default_factory=_none)
    #: the :attr:`DatasetInfo.name` of the dataset (inside the DOI) this file belongs to, when the source says
    dataset: str | None = None

    def __post_init__(self) -> None:
        given = self.checksums
        if isinstance(given, dict) and not self.bad_checksums and _canonical(given):
            object.__setattr__(self, "checksums", MappingProxyType(dict(given)))  # the usual case: no work
            object.__setattr__(self, "bad_checksums", _NONE)
        else:
            good, bad = split_checksums(given)
            object.__setattr__(self, "checksums", _frozen_mapping(good))
            object.__setattr__(self, "bad_checksums", _frozen_mapping({**dict(self.bad_checksums), **bad}) if
                               bad or self.bad_checksums else _NONE)
        object.__setattr__(self, "urls", tuple(self.urls))
        if self.access not in ACCESS_VALUES:
            raise ValueError(f"access must be one of {ACCESS_VALUES}, not {self.access!r}")

    def __hash__(self) -> int:
        return hash((self.path, self.size, tuple(sorted(self.checksums.items())), self.urls))

    @property
    def url(self) -> str | None:
        return self.urls[0] if self.urls else None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "checksums": dict(self.checksums),
            "url": self.url,
            "urls": list(self.urls),
            "media_type": self.media_type,
            "access": self.access,
            **({"note": self.note} if self.note else {}),
            **({"bad_checksums": dict(self.bad_checksums)} if self.bad_checksums else {}),
            **({"dataset": self.dataset} if self.dataset is not None else {}),
        }

    def checksum_problems(self) -> list[str]:
        """One note per malformed checksum, naming the file and the value."""
        notes = []
        for algo, value in self.bad_checksums.items():
            want = _HEX_LENGTHS.get(algo)
            why = f"{algo} takes {want} hex digits" if want else "no algorithm" if algo in ("", "?") else "not a digest"
            kind = "checksum" if algo in ("", "?") else algo
            notes.append(f"{self.path!r}: malformed {kind} value {value!r} ignored ({why})")
        return notes


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
        from .notebook import manifest_repr

        return manifest_repr(self)

    def _repr_html_(self) -> str:
        """Jupyter display: see :func:`doi2data.notebook.manifest_html` (bounded, escaped)."""
        from .notebook import manifest_html

        return manifest_html(self)

    def to_pandas(self) -> Any:
        """The files as a ``pandas.DataFrame`` with typed columns (``pip install 'doi2data[pandas]'``)."""
        from .tabular import manifest_frame

        return manifest_frame(self)


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
