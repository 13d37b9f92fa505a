"""Parse what users paste into one normalised identifier: a DOI, a Handle, or a landing URL.

Users paste DOIs in every form found on landing pages, in papers and in BibTeX:
``10.5281/zenodo.1``, ``doi:10.5281/zenodo.1``, ``https://doi.org/10.5281/zenodo.1``,
``http://dx.doi.org/…``, percent-encoded (``10.5281%2Fzenodo.1``), ``hdl:…`` and
``https://hdl.handle.net/…``, or simply the repository's landing page. This module turns all of
them into an :class:`Identifier`; anything else is an :class:`InvalidIdentifier` with a
one-line message. Pure functions, no I/O.

DOIs are case-insensitive (ISO 26324; doi.org and DataCite match without case), so equality and
hashing use the lower-cased value while ``value`` keeps the user's spelling for display.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from .errors import InvalidIdentifier

Scheme = Literal["doi", "handle", "url"]

#: ``10.`` + registrant code (digits, possibly dotted sub-prefixes) + ``/`` + non-empty suffix.
_DOI_RE = re.compile(r"^10\.\d{1,9}(?:\.\d+)*/\S+$")
#: Handle prefixes are dotted alphanumerics (``20.500.11935``, ``0.NA``); suffix non-empty.
_HANDLE_RE = re.compile(r"^[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*/\S+$")
_DOI_HOSTS = frozenset({"doi.org", "dx.doi.org", "www.doi.org", "doi.pangaea.de"})
_HANDLE_HOSTS = frozenset({"hdl.handle.net", "handle.net", "www.handle.net"})
_DOI_PREFIXES = ("doi:", "info:doi/", "urn:doi:", "doi ")
_HANDLE_PREFIXES = ("hdl:", "info:hdl/", "urn:hdl:")
_MAX_LENGTH = 2048


@dataclass(frozen=True)
class Identifier:
    """A normalised identifier. ``value`` keeps the user's case; comparison ignores DOI case."""

    scheme: Scheme
    value: str = field(compare=False)
    key: str = field(init=False, repr=False, compare=True)

    def __post_init__(self) -> None:
        key = self.value.lower() if self.scheme in ("doi", "handle") else self.value
        object.__setattr__(self, "key", key)

    @property
    def is_doi(self) -> bool:
        return self.scheme == "doi"

    @property
    def url(self) -> str:
        """Where a browser would go: the proxy URL for DOIs and handles, the URL itself otherwise."""
        if self.scheme == "doi":
            return f"https://doi.org/{self.value}"
        if self.scheme == "handle":
            return f"https://hdl.handle.net/{self.value}"
        return self.value

    def __str__(self) -> str:
        return f"doi:{self.value}" if self.scheme == "doi" else (
            f"hdl:{self.value}" if self.scheme == "handle" else self.value
        )


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    previous = None
    while previous != text:  # "<https://doi.org/10.1/x>." pasted from prose
        previous = text
        text = text.strip().rstrip(".,;")
        for left, right in ("<>", '""', "''"):  # only balanced wrappers: SICI DOIs contain '<'
            if len(text) >= 2 and text[0] == left and text[-1] == right:
                text = text[1:-1]
    return text


def _decode(text: str) -> str:
    """Undo percent-encoding, repeatedly for doubly-encoded forms (PSI uses ``%252F``)."""
    for _ in range(3):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return unicodedata.normalize("NFC", text)


def _reject(text: str, why: str) -> InvalidIdentifier:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidIdentifier(f"not a DOI, handle or URL: {shown!r} ({why})", identifier=text)


def _check_chars(value: str, original: str) -> None:
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise _reject(original, "contains control characters")


def _as_doi(candidate: str, original: str) -> Identifier:
    candidate = _decode(candidate)
    _check_chars(candidate, original)
    if not _DOI_RE.match(candidate):
        raise _reject(original, "a DOI looks like 10.<digits>/<suffix>")
    return Identifier("doi", candidate)


def _as_handle(candidate: str, original: str) -> Identifier:
    candidate = _decode(candidate)
    _check_chars(candidate, original)
    if _DOI_RE.match(candidate):  # a handle under prefix 10. is a DOI
        return Identifier("doi", candidate)
    if not _HANDLE_RE.match(candidate):
        raise _reject(original, "a handle looks like <prefix>/<suffix>")
    return Identifier("handle", candidate)


def _from_url(text: str, original: str) -> Identifier:
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme.lower() not in ("http", "https"):
        raise _reject(original, "only http(s) URLs are accepted")
    path = parts.path.lstrip("/")
    if host in _DOI_HOSTS:
        return _as_doi(path, original)  # a query on a doi.org link is not part of the DOI
    if host in _HANDLE_HOSTS:
        return _as_handle(path, original)
    _check_chars(text, original)
    return Identifier("url", text)


def parse_identifier(text: str) -> Identifier:
    """Parse any supported identifier form; raise :class:`InvalidIdentifier` otherwise.

    >>> parse_identifier("https://doi.org/10.5281/ZENODO.1215979") == parse_identifier("10.5281/zenodo.1215979")
    True
    >>> parse_identifier("hdl:20.500.11935/4a1a").scheme
    'handle'
    """
    if not isinstance(text, str):
        raise InvalidIdentifier(f"identifier must be a string, not {type(text).__name__}")
    original = text
    if len(text) > _MAX_LENGTH:
        raise _reject(original[:80], f"longer than {_MAX_LENGTH} characters")
    text = _clean(text)
    if not text:
        raise _reject(original, "empty")
    low = text.lower()
    if low.startswith(("http://", "https://")):
        return _from_url(text, original)
    for prefix in _DOI_PREFIXES:
        if low.startswith(prefix):
            return _as_doi(text[len(prefix):].strip(), original)
    for prefix in _HANDLE_PREFIXES:
        if low.startswith(prefix):
            return _as_handle(text[len(prefix):].strip(), original)
    if low.startswith(tuple(h + "/" for h in _DOI_HOSTS | _HANDLE_HOSTS)):
        return _from_url("https://" + text, original)
    decoded = _decode(text)
    if decoded.startswith("10."):
        return _as_doi(decoded, original)
    raise _reject(original, "expected 10.xxxx/..., doi:, hdl:, or an http(s) URL")


__all__ = ["Identifier", "Scheme", "parse_identifier"]
