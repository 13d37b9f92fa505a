"""``doi2data frames DOI [--where EXPR] [--json] [--get DEST]``: the frame table of a dataset.

Lists every diffraction frame (CBF files, NeXus/HDF5 image stacks) with generic datanames read
from headers only (see :mod:`doi2data.subset.frames`), optionally filtered by ``--where`` and
fetched with ``--get`` (whole CBF files, HDF5 files holding just the chosen frames).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ._options import version_option

_SHOWN = ("omega", "phi", "chi", "kappa", "two_theta", "exposure_time", "wavelength", "detector_distance")


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    varying = [n for n in _SHOWN if len({r.get(n) for r in rows}) > 1]
    constant = [n for n in _SHOWN if n not in varying and rows[0].get(n) is not None]
    columns = ["file", "frame", *varying]
    cells = [[_format(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    if constant:
        click.echo("same for all: " + ", ".join(f"{n}={_format(rows[0].get(n))}" for n in constant))


@click.command("frames")
@click.argument("identifier")
@click.option("-w", "--where", "where", metavar="EXPR",
              help="keep frames matching e.g. 'omega >= 90 and omega < 120 and chi == 0'")
@click.option("--json", "as_json", is_flag=True, help="print the table as JSON")
@click.option("--get", "get_dest", type=click.Path(file_okay=False, path_type=Path), metavar="DEST",
              help="fetch the matching frames into DEST (CBF: whole files; HDF5: just those frames)")
@click.option("-i", "--include", multiple=True, metavar="GLOB", help="only scan files matching (repeatable)")
@click.option("-e", "--exclude", multiple=True, metavar="GLOB", help="do not scan files matching (repeatable)")
@click.option("--regex", multiple=True, metavar="REGEX", help="only scan files whose path matches (repeatable)")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="SQLite frame cache (default: ~/.cache/doi2data/frames.sqlite)")
@click.option("--no-cache", is_flag=True, help="neither read nor write the cache")
@click.option("--refresh", is_flag=True, help="rescan every file (the cache is rewritten)")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64), help="header reads in parallel")
@click.option("--rate", multiple=True, metavar="HOST=N/SECONDS", help="request-rate limit for a host (HOST=0: none)")
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
@version_option
def frames_command(identifier: str, where: str | None, as_json: bool, get_dest: Path | None, include: Sequence[str],
                   exclude: Sequence[str], regex: Sequence[str], cache_path: Path | None, no_cache: bool,
                   refresh: bool, workers: int, rate: Sequence[str], token: Sequence[str],
                   dataset_version: str | None) -> None:
    """List the frames of a dataset with their angles, exposure, wavelength and distance.

    Reads only CBF headers (a ranged read of the first KiB of each file) and HDF5 metadata,
    each file once (then from the cache). Datanames: omega phi chi kappa two_theta start_angle
    angle_increment (deg), exposure_time exposure_period (s), wavelength (A),
    detector_distance (mm), beam_x beam_y (px), oscillation_axis, detector, file, frame.
    """
    from ..api import resolve
    from ..http import Credentials
    from ..select import FileFilter
    from ..subset.frames import fetch_frames, frame_table
    from ..subset.ranges import RangeReader
    from ..transfer.engine import TransferOptions
    from ..subset.where import parse_where
    from ..transfer.limits import DEFAULT_RATES, parse_rate

    if where:
        parse_where(where)  # syntax errors before any request (names are checked against the table)
    rates = dict(DEFAULT_RATES)
    rates.update(parse_rate(r) for r in rate)
    filters = FileFilter.of(include, exclude, regex=regex)
    manifest = resolve(identifier, tokens=token, version=dataset_version)
    cache: Path | bool | None = False if no_cache else cache_path
    with RangeReader(credentials=Credentials.parse(token), rates=rates, workers=workers) as reader:
        table = frame_table(manifest, reader=reader, cache=cache, refresh=refresh,
                            filters=filters if filters.active else None)
        chosen = table.query(where)
        report = None
        if get_dest is not None:
            report = fetch_frames(manifest, where, get_dest, reader=reader, table=table,
                                  options=TransferOptions(rates=rates), tokens=token)
    if as_json:
        doc = table.to_json(chosen)
        if report is not None:
            doc["fetched"] = report.to_json()
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        _print_table([f.row() for f in chosen])
        files = len({f.file for f in chosen})
        click.echo(f"{len(chosen)} of {len(table.frames)} frame(s) in {files} file(s); scanned {table.scanned} "
                   f"file(s) with {table.requests} request(s), {table.bytes_received:,} bytes; "
                   f"{table.cached} from cache", err=True)
        if report is not None:
            click.echo(f"fetched {len(report.written)} file(s) into {get_dest}, {report.bytes_received:,} bytes "
                       f"received", err=True)
    for message in table.messages:
        click.echo(f"note: {message}", err=True)
    if report is not None and report.failed:
        from ..errors import DownloadIncomplete

        raise DownloadIncomplete(f"{len(report.failed)} file(s) failed: " + ", ".join(sorted(report.failed)),
                                 report.failed)


def register(group: click.Group) -> None:
    group.add_command(frames_command)
