"""``doi2data export DOI --bagit DIR`` / ``--ro-crate DIR``: packaged, described copies of a dataset."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ._from import from_options
from ._options import filter_options, version_option


@click.command("export")
@click.argument("identifier", required=False)
@click.option("--bagit", "bag_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="write a BagIt bag (RFC 8493) into DIR")
@click.option("--ro-crate", "crate_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="write an RO-Crate (ro-crate-metadata.json) into DIR")
@click.option("--holey", is_flag=True,
              help="download nothing: the bag gets fetch.txt, the crate names files by their URLs")
@filter_options
@click.option("-j", "--jobs", default=4, show_default=True, type=click.IntRange(1, 256), help="files in parallel")
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
@version_option
@click.option("-q", "--quiet", is_flag=True, help="no progress display")
@from_options
def export_command(identifier: str | None, bag_dir: Path | None, crate_dir: Path | None, holey: bool,
                   include: Sequence[str], exclude: Sequence[str], regex: Sequence[str], min_size: str | None,
                   max_size: str | None, jobs: int, token: Sequence[str], dataset_version: str | None,
                   quiet: bool, from_file: str | None = None, max_identifiers: int = 100_000) -> None:
    """Package a dataset as a BagIt bag and/or an RO-Crate.

    Without --holey the files are downloaded first (verified and resumable, like `get`; re-run
    to resume) and described with the repository's checksums plus SHA-256 of the local bytes.
    With --from FILE: one bag / crate per dataset, in a folder named after its DOI under DIR.
    """
    from ..api import resolve
    from ..errors import UsageError
    from ..export import ExportResult, write_bag, write_ro_crate
    from ..output import RichProgress
    from ..sizes import human_size
    from ..transfer.engine import TransferOptions

    if bag_dir is None and crate_dir is None:
        raise UsageError("say where to export: --bagit DIR and/or --ro-crate DIR")
    if from_file is not None:
        from ._from import read_list, refuse

        refuse("export", **{"IDENTIFIER": identifier, "--version": dataset_version})
        _export_many(read_list(from_file, max_identifiers), bag_dir, crate_dir, holey=holey, jobs=jobs, token=token,
                     quiet=quiet, filters=dict(include=include, exclude=exclude, regex=regex, min_size=min_size,
                                               max_size=max_size))
        return
    if identifier is None:
        raise click.UsageError("Missing argument 'IDENTIFIER' (or --from FILE for many).")
    manifest = resolve(identifier, include=include, exclude=exclude, tokens=token, regex=regex, min_size=min_size,
                       max_size=max_size, version=dataset_version)
    options = TransferOptions(jobs=jobs)

    def run(writer, dest: Path) -> ExportResult:  # type: ignore[no-untyped-def]
        progress = RichProgress() if not (quiet or holey) and sys.stderr.isatty() else None
        try:
            return writer(manifest, dest, holey=holey, options=options, tokens=token, progress=progress)
        finally:
            if progress is not None:
                progress.stop()

    for kind, writer, dest in (("bag", write_bag, bag_dir), ("RO-Crate", write_ro_crate, crate_dir)):
        if dest is None:
            continue
        result = run(writer, dest)
        for message in result.messages:
            click.echo(f"note: {message}", err=True)
        how = "" if not holey else (" (holey: fetch.txt lists them)" if kind == "bag" else " (referenced by URL)")
        algorithms = f"; checksums: {', '.join(result.algorithms)}" if result.algorithms else ""
        click.echo(f"{kind} written to {result.path}: {len(result.files)} file(s), "
                   f"{human_size(result.total_size)}{how}{algorithms}", err=True)


def _export_many(batch: Any, bag_dir: Path | None, crate_dir: Path | None, *, holey: bool, jobs: int,
                 token: Sequence[str], quiet: bool, filters: dict[str, Any]) -> None:
    """``export --from``: a bag / crate per dataset under DIR; downloads share one client and rate budget."""
    import asyncio

    from ..api import aresolve
    from ..batch import BatchItem, DatasetOutcome, run
    from ..export import write_bag, write_ro_crate
    from ..transfer.engine import TransferOptions
    from ._from import announcer, finish, printer

    options = TransferOptions(jobs=jobs)

    async def one(item: BatchItem) -> DatasetOutcome:
        manifest = await aresolve(item.identifier or item.text, tokens=token, **filters)
        outcome = DatasetOutcome(item.text, item.folder, True)
        for writer, root in ((write_bag, bag_dir), (write_ro_crate, crate_dir)):
            if root is None:
                continue
            # a worker thread: the writer's download runs on this loop, in the batch's shared session
            result = await asyncio.to_thread(writer, manifest, root / (item.folder or "dataset"), holey=holey,
                                             options=options, tokens=token)
            for message in result.messages:
                click.echo(f"note: {item.text}: {message}", err=True)
            outcome.files, outcome.bytes, outcome.skipped = len(result.files), result.total_size, len(result.skipped)
        return outcome

    outcomes = run(batch.items, one, options=options, tokens=token, on_start=announcer(len(batch.items), quiet, False),
                   on_done=printer(False))
    finish(outcomes, batch.notes, False)


def register(group: click.Group) -> None:
    group.add_command(export_command)
