"""What ``ls --inside`` and ``get --extract/--hdf5/--where`` do, ready for the CLI to call.

Why a module: the core CLI stays a thin layer - it adds the options and calls one function per
command (see the wiring in the issue-6 hand-off); the text and JSON shapes live here, next to
the library they describe, so the gateway can reuse the same JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..http import Credentials
from ..model import Manifest
from ..sizes import human_size
from .common import SubsetReport
from .ranges import RangeReader
from .spec import resolve_spec

ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
RATIO_ENV = "DOI2DATA_MAX_INFLATE_RATIO"


def inflate_limits() -> Any:
    """The CLI's decompression bounds: the defaults, with the ratio cap from ``$DOI2DATA_MAX_INFLATE_RATIO``
    (for the rare honest archive that compresses better than 1,100:1 past its first 64 MiB)."""
    from .inflate import InflateLimits

    raw = os.environ.get(RATIO_ENV, "").strip()
    if not raw:
        return InflateLimits()
    try:
        ratio = float(raw)
    except ValueError:
        ratio = 0.0
    if not ratio > 0 or ratio == float("inf"):
        raise UsageError(f"{RATIO_ENV}={raw!r}: expected a positive number (inflated bytes per compressed byte)")
    return InflateLimits(max_ratio=ratio)


def _reader(tokens: Sequence[str], rates: Any) -> RangeReader:
    return RangeReader(credentials=Credentials.parse(tokens), rates=rates)


def ls_inside(manifest: Manifest, name: str, *, as_json: bool = False, tokens: Sequence[str] = (), rates: Any = None,
              **filters: Any) -> str:
    """The member table (or JSON) of the archive ``name``; ``filters`` as :mod:`doi2data.select`."""
    from ..select import FileFilter
    from .common import find_entry
    from .tarstream import list_tar_members
    from .zipremote import list_zip_members

    entry = find_entry(manifest, name)
    chooser = FileFilter.of(filters.pop("include", None), filters.pop("exclude", None), **filters)
    with _reader(tokens, rates) as reader:
        if entry.path.lower().endswith(".zip"):
            listing = list_zip_members(entry, reader=reader)
            rows = [m.to_json() for m in listing.members if chooser.keeps(m.name, m.size)]
            cost = (listing.requests, listing.bytes_received)
        elif entry.path.lower().endswith(ARCHIVES):
            before = reader.bytes_received
            rows = [m.to_json() for m in list_tar_members(entry, reader=reader, limits=inflate_limits())
                    if chooser.keeps(m.name, m.size)]
            cost = (reader.requests, reader.bytes_received - before)
        else:
            raise UsageError(f"{entry.path} is not an archive doi2data can look into (zip, tar, tar.gz...)")
    if as_json:
        return json.dumps({"source": entry.path, "members": rows, "requests": cost[0], "bytes_received": cost[1]},
                          indent=2) + "\n"
    lines = [f"{human_size(r['size']):>10}  {r.get('crc32', ''):8}  {r['name']}" for r in rows]
    total = sum(r["size"] for r in rows)
    lines.append(f"{len(rows)} member(s), {human_size(total)} in {entry.path}; read {human_size(cost[1])} "
                 f"in {cost[0]} request(s)")
    return "\n".join(lines) + "\n"


def get_subsets(manifest: Manifest, dest: str | Path, *, extract: Sequence[str] = (), hdf5: Sequence[str] = (),
                where: str | None = None, options: Any = None, tokens: Sequence[str] = (), rates: Any = None,
                cache: Any = None, filters: Any = None) -> SubsetReport:
    """Run every ``--extract ARCHIVE:GLOB``, ``--hdf5 FILE:/path[slices]`` and ``--where EXPR``.

    ``filters`` (a :class:`~doi2data.select.FileFilter`) narrows the files ``--where`` scans.
    """
    from .frames import fetch_frames, frame_table
    from .hdf5extract import extract_hdf5
    from .tarstream import extract_tar_members
    from .zipremote import extract_zip_members

    report = SubsetReport(Path(dest))
    limits = inflate_limits() if extract else None
    with _reader(tokens, rates) as reader:
        for spec in extract:
            entry, pattern = resolve_spec(spec, manifest)
            low = entry.path.lower()
            if low.endswith(".zip"):
                report.merge(extract_zip_members(entry, dest, pattern, reader=reader, limits=limits))
            elif low.endswith(ARCHIVES):
                report.merge(extract_tar_members(entry, dest, pattern, reader=reader, limits=limits))
            else:
                raise UsageError(f"--extract: {entry.path} is not a zip or tar archive")
        for spec in hdf5:
            report.merge(extract_hdf5(manifest, spec, dest, reader=reader))
        if where:
            table = frame_table(manifest, reader=reader, cache=cache, filters=filters)
            report.merge(fetch_frames(manifest, where, dest, reader=reader, table=table, options=options,
                                      tokens=tokens))
    return report


def report_text(report: SubsetReport) -> str:
    """Human summary of a subset run (what was written, what it cost, what failed)."""
    lines = [f"  {w.local}  ({human_size(w.size)}{', from ' + w.source if w.part else ''})" for w in report.written]
    lines += [f"note: {m}" for m in report.messages]
    lines += [f"FAILED {path}: {why}" for path, why in sorted(report.failed.items())]
    lines.append(f"{len(report.written)} file(s) written to {report.dest}, {human_size(report.bytes_written)}; "
                 f"received {human_size(report.bytes_received)} in {report.requests} request(s)")
    return "\n".join(lines) + "\n"


__all__ = ["RATIO_ENV", "get_subsets", "inflate_limits", "ls_inside", "report_text"]
