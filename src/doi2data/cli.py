"""The ``doi2data`` command line: a thin layer over the Python API.

Every expected failure is a :class:`~doi2data.errors.Doi2DataError`: it is printed as one line
on stderr and the process exits with the class's documented code - never a traceback.
Set ``DOI2DATA_DEBUG=1`` to see tracebacks anyway.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx

from ._version import __version__
from .api import resolve
from .batch import MAX_IDENTIFIERS
from .commands._from import from_options
from .commands._listing import listing_options
from .commands._options import PATTERN_HELP, filter_options, version_option
from .commands._run import run_get
from .errors import Doi2DataError, DownloadIncomplete, UsageError, VerificationError
from .http import translate_transport_error
from .identifiers import parse_identifier
from .model import Manifest
from .output import print_manifest, write_listing
from .sizes import human_size, parse_size
from .transfer.engine import TransferOptions
from .transfer.limits import DEFAULT_RATES, parse_rate

_PATTERN_HELP = PATTERN_HELP
_EXPLAIN_HELP = "print on stderr how the repository was found: layers tried, route, HTTP request count"
_REBUILD_HELP = "set a damaged DEST/.doi2data/state.sqlite aside; files on disk are checked again by hashing"


def _resolve_explained(identifier: str, explain: bool, **kwargs: Any) -> Manifest:
    """:func:`resolve`; with ``explain``, the discovery report goes to stderr (on failure too)."""
    from .discovery import explain_text

    try:
        manifest = resolve(identifier, **kwargs)
    except Doi2DataError as exc:
        if explain and getattr(exc, "discovery", None) is not None:
            click.echo(explain_text(exc.discovery), err=True)  # type: ignore[attr-defined]
        raise
    if explain and manifest.discovery is not None:
        click.echo(explain_text(manifest.discovery), err=True)
    return manifest


def _default_dest(identifier: str) -> Path:
    """``10.5281/zenodo.1`` -> ``./10.5281_zenodo.1``: never spray files into the working dir."""
    from .batch import folder_name

    return Path(folder_name(parse_identifier(identifier)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="doi2data")
def cli() -> None:
    """Give it a dataset DOI, get the data.

    IDENTIFIER is a DOI in any form (10.x/y, doi:..., https://doi.org/...), a handle
    (hdl:..., https://hdl.handle.net/...) or a repository landing-page URL.
    """


@cli.command("ls")
@click.argument("identifier", required=False)
@click.option("--json", "as_json", is_flag=True, help="print the manifest as JSON (same as --format json)")
@click.option("-f", "--format", "fmt", metavar="NAME",
              help="json, ndjson, csv, metalink, urls, aria2, md5sum, sha1sum, sha256sum, sha512sum")
@filter_options
@listing_options
@click.option("--inside", metavar="ARCHIVE",
              help="list the members of a zip/tar in the dataset (ranged reads; filters apply to members)")
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
@version_option
@click.option("--explain", is_flag=True, help=_EXPLAIN_HELP)
@click.option("--no-stream", is_flag=True,
              help="ndjson, urls, aria2, *sum: print after the whole listing, in path order (default: as files arrive)")
@from_options
def ls_command(identifier: str | None, as_json: bool, fmt: str | None, include: Sequence[str], exclude: Sequence[str],
               regex: Sequence[str], min_size: str | None, max_size: str | None, inside: str | None,
               token: Sequence[str], dataset_version: str | None, explain: bool, from_file: str | None = None,
               max_identifiers: int = MAX_IDENTIFIERS, no_stream: bool = False) -> None:
    """List the files of a dataset: path, size, checksum, access (or export the list).

    With --from FILE: each dataset's listing in turn (--json: one manifest a line) and a summary.
    """
    from .formats import FORMATS, render

    if from_file is not None:
        from .commands._from import ls_many, only_dest, read_list, refuse

        refuse("ls", **{"--inside": inside, "--explain": explain, "--version": dataset_version, "IDENTIFIER": identifier,
                        "--format (other than json)": fmt not in (None, "json")})
        ls_many(read_list(from_file, max_identifiers), as_json=as_json or fmt == "json", tokens=token,
                include=include, exclude=exclude, regex=regex, min_size=min_size, max_size=max_size)
        return
    identifier = _needed(identifier)
    if inside:
        from .subset.actions import ls_inside

        manifest = _resolve_explained(identifier, explain, tokens=token, version=dataset_version)
        click.echo(ls_inside(manifest, inside, as_json=as_json, tokens=token, include=include, exclude=exclude,
                             regex=regex, min_size=min_size, max_size=max_size), nl=False)
        return
    name = "json" if as_json else fmt
    if name:
        FORMATS[name]  # an unknown name fails here, before any network request (exit 2)
    filters: dict[str, Any] = dict(include=include, exclude=exclude, regex=regex, min_size=min_size, max_size=max_size)
    listed = lambda: _resolve_explained(identifier, explain, tokens=token, version=dataset_version, **filters)  # noqa: E731
    if name and not no_stream and dataset_version is None:
        from .commands._streamed import ls_streamed

        manifest = ls_streamed(FORMATS[name].name, identifier, listed, filters)
        if manifest is None:
            return  # printed as the files arrived
    else:
        manifest = listed()
    if not name:
        print_manifest(manifest)
        return
    if write_listing(FORMATS[name].name, manifest, sys.stdout):
        return  # json/ndjson: written file by file, never built whole
    exported = render(name, manifest)
    click.echo(exported.text, nl=False)
    for message in exported.messages:
        click.echo(f"note: {message}", err=True)


@cli.command("get")
@click.argument("identifier", required=False)
@click.argument("dest", required=False, type=click.Path(file_okay=False, path_type=Path))
@filter_options
@listing_options
@click.option("--extract", multiple=True, metavar="ARCHIVE:GLOB",
              help="only these members of a zip/tar, e.g. 'data.zip:images/*.cbf'")
@click.option("--hdf5", "hdf5_specs", multiple=True, metavar="FILE:/PATH[SLICES]",
              help="a new HDF5 file with just this slab, e.g. 'scan.h5:/entry/data/data[10:20]'")
@click.option("--where", metavar="EXPR",
              help="only frames whose metadata match, e.g. 'omega >= 90 and omega < 120 and chi == 0'")
@click.option("-j", "--jobs", default=4, show_default=True, type=click.IntRange(1, 256), help="files in parallel")
@click.option("--per-host", default=8, show_default=True, type=click.IntRange(1, 256),
              help="connections per host")
@click.option("-s", "--segments", default=4, show_default=True, type=click.IntRange(1, 64),
              help="byte-range segments per large file (servers that support ranges)")
@click.option("--min-segment", default="8MiB", show_default=True, metavar="SIZE", help="smallest segment")
@click.option("--max-total-size", metavar="SIZE", help="refuse to start if the selection is larger (e.g. 50GB)")
@click.option("--rate", multiple=True, metavar="HOST=N/SECONDS",
              help="request-rate limit for a host (HOST=0: none); Zenodo defaults to its guest limits")
@click.option("--token", multiple=True, metavar="HOST=TOKEN",
              help="API token sent only to HOST (also DOI2DATA_TOKENS, ~/.config/doi2data/tokens); HOST=Header:VALUE "
                   "for other headers; datadryad.org=CLIENT_ID:SECRET for a Dryad API account")
@click.option("--guestbook", multiple=True, metavar="KEY=VALUE,…|@FILE",
              help="answers to a Dataverse dataset's guestbook (name=…,email=…,q1=…), one response per file")
@version_option
@click.option("--attempts", default=5, show_default=True, type=click.IntRange(1, 100), help="tries per file")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds without data before a connection counts as stalled")
@click.option("--json", "as_json", is_flag=True, help="one JSON event per line on stdout")
@click.option("-q", "--quiet", is_flag=True, help="no progress display")
@click.option("--explain", is_flag=True, help=_EXPLAIN_HELP)
@click.option("--restore/--no-restore", default=True, show_default=True,
              help="bring files on tape online first (ESRF), polling until they are")
@click.option("--restore-timeout", default=3600.0, show_default=True, type=click.FloatRange(0, 7 * 86400),
              metavar="SECONDS", help="give up waiting for a restore after this long (exit 10; re-run later)")
@click.option("--rebuild-state", is_flag=True, help=_REBUILD_HELP)
@from_options
def get_command(
    identifier: str | None, dest: Path | None, include: Sequence[str], exclude: Sequence[str], regex: Sequence[str],
    min_size: str | None, max_size: str | None, extract: Sequence[str], hdf5_specs: Sequence[str],
    where: str | None, jobs: int,
    per_host: int, segments: int, min_segment: str, max_total_size: str | None, rate: Sequence[str],
    token: Sequence[str], dataset_version: str | None, attempts: int, timeout: float, as_json: bool, quiet: bool,
    explain: bool, restore: bool, restore_timeout: float, rebuild_state: bool = False,
    guestbook: Sequence[str] = (), from_file: str | None = None, max_identifiers: int = MAX_IDENTIFIERS,
) -> None:
    """Download a dataset into DEST (default: a folder named after the DOI), verified.

    Re-running resumes partial files and skips verified ones: no byte is fetched twice.
    With --from FILE (get --from FILE [DEST]): every dataset listed, each into its own folder
    under DEST (default: here), one rate budget for all, one summary; the exit code reflects every dataset.
    """
    rates = dict(DEFAULT_RATES)
    rates.update(parse_rate(r) for r in rate)
    options = TransferOptions(
        jobs=jobs, per_host=per_host, segments=segments, min_segment=parse_size(min_segment),
        max_total_size=parse_size(max_total_size) if max_total_size else None, max_attempts=attempts,
        rates=rates, timeout=timeout,
    )
    if from_file is not None:
        from .commands._from import get_many, only_dest, read_list, refuse

        refuse("get", **{"--extract": extract, "--hdf5": hdf5_specs, "--where": where, "--explain": explain,
                         "--version": dataset_version})
        root = Path(only_dest(identifier, dest, "get"))
        get_many(read_list(from_file, max_identifiers), root, options=options, tokens=token, as_json=as_json,
                 quiet=quiet, rebuild_state=rebuild_state, include=include, exclude=exclude, regex=regex,
                 min_size=min_size, max_size=max_size, restore=restore, restore_timeout=restore_timeout,
                 guestbook=guestbook or None)
        return
    identifier = _needed(identifier)
    target = dest or _default_dest(identifier)
    if rebuild_state:
        _rebuild_state(target)
    if extract or hdf5_specs or where:
        _get_subsets(identifier, target, extract=extract, hdf5_specs=hdf5_specs, where=where, options=options,
                     token=token, rates=rates, explain=explain, as_json=as_json, version=dataset_version,
                     filters=dict(include=include, exclude=exclude, regex=regex, min_size=min_size, max_size=max_size))
        return
    source: str | Manifest = identifier
    if explain:
        source = _resolve_explained(identifier, True, tokens=token, version=dataset_version)
    run_get(source, target, include=include, exclude=exclude, options=options, tokens=token,
            as_json=as_json, quiet=quiet, restore=restore, restore_timeout=restore_timeout,
            regex=regex, min_size=min_size, max_size=max_size, version=None if explain else dataset_version,
            guestbook=guestbook)


def _get_subsets(identifier: str, target: Path, *, extract: Sequence[str], hdf5_specs: Sequence[str],
                 where: str | None, options: TransferOptions, token: Sequence[str], rates: Any, explain: bool,
                 as_json: bool, filters: dict[str, Any], version: str | None = None) -> None:
    """``get --extract/--hdf5/--where``: only the bytes of the chosen members, slabs or frames."""
    from .select import FileFilter
    from .subset.actions import get_subsets, report_text
    from .subset.where import parse_where

    if where:
        parse_where(where)  # a syntax error exits 2 before any request
    chooser = FileFilter.of(filters["include"], filters["exclude"], regex=filters["regex"],
                            min_size=filters["min_size"], max_size=filters["max_size"])
    manifest = _resolve_explained(identifier, explain, tokens=token, version=version)
    report = get_subsets(manifest, target, extract=extract, hdf5=hdf5_specs, where=where, options=options,
                         tokens=token, rates=rates, filters=chooser)
    click.echo(json.dumps(report.to_json()) if as_json else report_text(report), err=not as_json, nl=not as_json)
    if report.failed:
        raise DownloadIncomplete(f"{len(report.failed)} part(s) failed", report.failed)


def _needed(identifier: str | None) -> str:
    """IDENTIFIER is optional only with --from."""
    if identifier is None:
        raise click.UsageError("Missing argument 'IDENTIFIER' (or --from FILE for many).")
    return identifier


def _rebuild_state(dest: Path) -> None:
    from .transfer.state import set_aside

    moved = set_aside(dest)
    if moved is not None:
        click.echo(f"note: old download state moved to {moved}; files on disk are checked again", err=True)


@cli.command("verify")
@click.argument("identifier", required=False)
@click.argument("dest", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@filter_options
@listing_options
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
@version_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file")
@click.option("--rebuild-state", is_flag=True, help=_REBUILD_HELP)
@from_options
def verify_command(identifier: str | None, dest: Path | None, include: Sequence[str], exclude: Sequence[str],
                   regex: Sequence[str], min_size: str | None, max_size: str | None, token: Sequence[str],
                   dataset_version: str | None, as_json: bool, rebuild_state: bool = False,
                   from_file: str | None = None, max_identifiers: int = MAX_IDENTIFIERS) -> None:
    """Re-check a downloaded tree: every file present, right size, every checksum (local only).

    With --from FILE (verify --from FILE DEST): each dataset's folder under DEST, as `get --from` made them.
    """
    from .transfer.verify import summary_line, verify_tree

    if from_file is not None:
        from .commands._from import only_dest, read_list, refuse, verify_many

        refuse("verify", **{"--version": dataset_version})
        root = only_dest(identifier, dest, "verify")
        if root is None or not Path(root).is_dir():
            raise UsageError(f"verify --from: DEST {str(root or '')[:200]!r} is not a folder")
        verify_many(read_list(from_file, max_identifiers), Path(root), as_json=as_json, tokens=token,
                    rebuild_state=rebuild_state, include=include, exclude=exclude, regex=regex, min_size=min_size,
                    max_size=max_size)
        return
    identifier = _needed(identifier)
    if dest is None:
        raise click.UsageError("Missing argument 'DEST'.")
    if rebuild_state:
        _rebuild_state(dest)
    manifest = resolve(identifier, include=include, exclude=exclude, regex=regex, min_size=min_size,
                       max_size=max_size, tokens=token, version=dataset_version)
    for note in manifest.checksum_warnings:
        click.echo(f"note: {note}", err=True)
    results = verify_tree(manifest, dest)
    bad = list(results.where("missing", "mismatch"))
    for r in results if as_json else results.where("missing", "mismatch", "unchecked", "skipped"):
        if as_json:
            click.echo(json.dumps({"path": r.path, "local": r.local, "verdict": r.verdict, "detail": r.detail}))
        elif r.verdict != "ok":
            click.echo(f"{r.verdict.upper():9} {r.path}" + (f": {r.detail}" if r.detail else ""), err=True)
    click.echo(summary_line(results), err=True)
    if bad:
        raise VerificationError(f"{len(bad)} file(s) missing or not matching: " + ", ".join(r.path for r in bad[:5]))


@cli.command("demo")
@click.argument("dest", required=False, type=click.Path(file_okay=False, path_type=Path))
def demo_command(dest: Path | None) -> None:
    """Run the whole flow offline against the built-in sandbox (a fake doi.org, DataCite and Zenodo)."""
    from .demo import run_demo

    run_demo(dest)


def _load_command_modules() -> None:
    """Import ``doi2data.commands.*`` and let each module register its commands."""
    import importlib
    import pkgutil

    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)


_load_command_modules()


def _fail(message: str, code: int, details: Sequence[str] = ()) -> None:
    click.echo(f"doi2data: error: {message}", err=True)
    for line in details:  # e.g. a guestbook's questions still to answer, one per line
        click.echo(f"  {line}", err=True)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point: map every expected failure to one line and an exit code."""
    debug = os.environ.get("DOI2DATA_DEBUG") not in (None, "", "0")
    try:
        return cli.main(args=list(argv) if argv is not None else None, prog_name="doi2data", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # bad usage: click's message, exit 2
        exc.show()
        sys.exit(UsageError.exit_code if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", 130)
    except KeyboardInterrupt:
        _fail("interrupted; re-run the same command to resume", 130)
    except Doi2DataError as exc:
        if debug:
            raise
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code,
              tuple(str(d) for d in getattr(exc, "details", ())))
    except OSError as exc:  # disk full, permissions: still one line
        if debug:
            raise
        _fail(f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc), 1)
    except httpx.TransportError as exc:  # a body that broke off where no layer translated it: still one line
        if debug:
            raise
        try:
            url = str(exc.request.url)
        except RuntimeError:  # no request attached
            url = "?"
        error = translate_transport_error(exc, url)
        _fail(str(error), error.exit_code)


__all__ = ["cli", "human_size", "main", "run_get"]
