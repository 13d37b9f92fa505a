"""Export a :class:`~doi2data.model.Manifest` as text for people and other tools.

Pure functions, Manifest in, ``str`` out (write it as UTF-8)::

    json       Manifest.to_json(), indented                    listing.to_json
    ndjson     one FileEntry JSON per line, plus "doi"         listing.to_ndjson
    csv        path,size,md5,sha1,sha256,sha512,url,access,media_type   listing.to_csv
    metalink   Metalink 4 / RFC 5854 for aria2 & co.           metalink.to_metalink
    urls       first URL of each file, one per line            aria2.to_urls
    aria2      aria2c -i input file (mirrors, out=, checksum=)  aria2.to_aria2
    md5sum, sha1sum, sha256sum, sha512sum   GNU "*sum -c" lists checksums.to_checksum_list

Listings (json, ndjson, csv) show repository paths as they are. Everything that names a local
file uses the safe paths of :func:`doi2data.paths.plan_paths` - the same ones the download
engine writes - and leaves out refused names; download hand-offs (metalink, urls, aria2) also
leave out files without a URL or whose access is not ``open``, like the engine.

:data:`FORMATS` is the registry the CLI offers as ``--format NAME``; :func:`render` returns an
:class:`Export` that also says which files were left out and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from ..errors import UsageError
from ..model import Manifest
from ._common import Export
from .aria2 import build_aria2, build_urls, to_aria2, to_urls
from .checksums import TOOLS, build_checksum_list, checksum_line, to_checksum_list
from .listing import CSV_COLUMNS, build_csv, build_json, build_ndjson, to_csv, to_json, to_ndjson
from .metalink import build_metalink, published_stamp, to_metalink


class UnknownFormat(UsageError, KeyError):
    """An unknown format name: a :class:`UsageError` (exit 2) that is also a ``KeyError``."""


@dataclass(frozen=True)
class Format:
    """One output format; calling it renders the text."""

    name: str
    build: Callable[[Manifest], Export]
    media_type: str
    suffix: str
    summary: str

    def __call__(self, manifest: Manifest) -> str:
        return self.build(manifest).text


class _Registry(Mapping[str, Format]):
    def __init__(self, formats: list[Format]) -> None:
        self._formats = {f.name: f for f in formats}

    def __getitem__(self, name: str) -> Format:
        try:
            return self._formats[name.strip().lower()]
        except (KeyError, AttributeError):
            raise UnknownFormat(f"unknown format {name!r}; choose one of: {', '.join(self._formats)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._formats)

    def __len__(self) -> int:
        return len(self._formats)


def _sums(algorithm: str) -> Format:
    tool = TOOLS[algorithm]
    return Format(tool, partial(build_checksum_list, algorithm=algorithm), "text/plain; charset=utf-8",
                  f".{tool}", f"GNU `{tool} -c` list")


#: name -> :class:`Format` (callable: Manifest -> str); unknown names raise :class:`UnknownFormat`.
FORMATS: Mapping[str, Format] = _Registry([
    Format("json", build_json, "application/json", ".json", "the manifest as JSON"),
    Format("ndjson", build_ndjson, "application/x-ndjson", ".ndjson", "one JSON object per file"),
    Format("csv", build_csv, "text/csv; charset=utf-8; header=present", ".csv", "one CSV row per file"),
    Format("metalink", build_metalink, "application/metalink4+xml", ".meta4", "Metalink 4 (RFC 5854)"),
    Format("urls", build_urls, "text/plain; charset=utf-8", ".urls.txt", "one URL per line"),
    Format("aria2", build_aria2, "text/plain; charset=utf-8", ".aria2.txt", "aria2c -i input file"),
    *(_sums(algorithm) for algorithm in ("md5", "sha1", "sha256", "sha512")),
])


def render(name: str, manifest: Manifest) -> Export:
    """Render ``manifest`` as format ``name``: text, skipped paths and notes; UsageError if unknown."""
    return FORMATS[name].build(manifest)


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "Export",
    "Format",
    "UnknownFormat",
    "build_aria2",
    "build_checksum_list",
    "build_csv",
    "build_json",
    "build_metalink",
    "build_ndjson",
    "build_urls",
    "checksum_line",
    "published_stamp",
    "render",
    "to_aria2",
    "to_checksum_list",
    "to_csv",
    "to_json",
    "to_metalink",
    "to_ndjson",
    "to_urls",
]
