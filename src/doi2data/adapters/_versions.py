"""Dataset versions (``--version`` / ``version=``): the checks and messages the adapters share.

Why one place: every adapter that honours a version must refuse malformed ones before any request
(exit 2) and name the versions that do exist when the one asked for does not (exit 4), in the same
words. Adapters opt in with a ``supports_versions = True`` class attribute; discovery refuses a
version for every other adapter and for the generic layers
(:class:`~doi2data.errors.VersionNotSupported`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import RecordNotFound, UsageError

MAX_LENGTH = 64
_NUMBER = re.compile(r"[vV]?(\d{1,6})")


def clean_version(value: object) -> str | None:
    """``None`` stays ``None``; anything else must be a short printable token (``1.0``, ``v2``, ``:draft``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UsageError(f"a dataset version is a string such as 1.0, 2 or :draft, not {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > MAX_LENGTH or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise UsageError(f"bad --version {str(value)[:MAX_LENGTH]!r}: give a version such as 1.0, 2 or :draft")
    return text


def version_number(version: str, repository: str) -> int:
    """``3`` or ``v3`` -> 3 (Figshare, Dryad: versions are counted 1, 2, 3 ...)."""
    match = _NUMBER.fullmatch(version.strip())
    if not match or int(match.group(1)) < 1:
        raise UsageError(f"{repository} versions are numbered 1, 2, 3 ...; --version {version!r} is not one")
    return int(match.group(1))


def version_missing(what: str, version: str, available: Iterable[str], *, url: str | None = None) -> RecordNotFound:
    """The error for a version that does not exist, naming those that do (when the repository said)."""
    names = list(dict.fromkeys(a for a in available if a))
    listing = f"available: {', '.join(names)}" if names else "the repository lists no other version"
    return RecordNotFound(f"{what} has no version {version} ({listing})", url=url)


__all__ = ["MAX_LENGTH", "clean_version", "version_missing", "version_number"]
