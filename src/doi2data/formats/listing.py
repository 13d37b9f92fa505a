"""Listings of the manifest as it is: JSON, NDJSON and CSV.

These show each file's ``path`` exactly as the repository gives it (the truth, as in
``ls``); they name no local files, so nothing is renamed or left out.
"""

from __future__ import annotations

import csv
import io
import json

from ..model import FileEntry, Manifest
from ._common import Export, digest

CSV_COLUMNS: tuple[str, ...] = ("path", "size", "md5", "sha1", "sha256", "sha512", "url", "access", "media_type")


def build_json(manifest: Manifest) -> Export:
    return Export(to_json(manifest))


def to_json(manifest: Manifest) -> str:
    """:meth:`Manifest.to_json` as indented UTF-8 JSON (non-ASCII kept), ending in a newline."""
    return json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"


def build_ndjson(manifest: Manifest) -> Export:
    return Export(to_ndjson(manifest))


def to_ndjson(manifest: Manifest) -> str:
    """One JSON object per line and file: ``{"doi": ..., **FileEntry.to_json()}``.

    Lines end in ``\\n``; an empty manifest gives an empty string.
    """
    doi = manifest.dataset.doi
    return "".join(ndjson_line(doi, f) for f in manifest.files)


def ndjson_line(doi: str | None, entry: FileEntry) -> str:
    """One file's line of :func:`to_ndjson` (with its newline)."""
    return json.dumps({"doi": doi, **entry.to_json()}, ensure_ascii=False) + "\n"


def build_csv(manifest: Manifest) -> Export:
    return Export(to_csv(manifest))


def to_csv(manifest: Manifest) -> str:
    """RFC 4180 CSV with header :data:`CSV_COLUMNS`, CRLF line ends, minimal quoting.

    ``size`` and checksum cells are empty when unknown; ``url`` is the first URL. Checksums
    are lowercase hex (malformed ones are left empty). Non-ASCII text is kept as is: write the
    result as UTF-8.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for f in manifest.files:
        sums = [digest(f, algorithm) or "" for algorithm in ("md5", "sha1", "sha256", "sha512")]
        size = "" if f.size is None else str(f.size)
        writer.writerow([f.path, size, *sums, f.url or "", f.access, f.media_type or ""])
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "build_csv", "build_json", "build_ndjson", "ndjson_line", "to_csv", "to_json", "to_ndjson"]
