"""One file of a dataset (:class:`FileEntry`), and the checksum vocabulary it is checked with.

Its own module (it was the first half of :mod:`.model`, which re-exports every name) so that
:mod:`.filelist`, which stores entries, and :mod:`.tabular` import it without importing
:mod:`.model`, which imports them: imports point one way.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

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
    if _HEX_LENGTHS.get(algorithm) == len(digest) and _HEX.fullmatch(digest):
        return {algorithm: digest}  # already canonical (Zenodo's "md5:<hex>"): no work
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
            if self.bad_checksums is not _NONE:
                object.__setattr__(self, "bad_checksums", _NONE)
        else:
            good, bad = split_checksums(given)
            object.__setattr__(self, "checksums", _frozen_mapping(good))
            object.__setattr__(self, "bad_checksums", _frozen_mapping({**dict(self.bad_checksums), **bad}) if
                               bad or self.bad_checksums else _NONE)
        if type(self.urls) is not tuple:
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


__all__ = ["ACCESS_VALUES", "HASH_ALGORITHMS", "MAX_DIGEST", "MAX_NAME", "Access", "FileEntry", "digest_length",
           "normalize_algorithm", "normalize_digest", "parse_prefixed_checksum", "split_checksums"]
