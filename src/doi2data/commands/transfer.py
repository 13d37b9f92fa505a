"""``doi2data transfer DOI --to URL --engine fts3|globus|rclone|gfal``: hand the copy to a transfer engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ._from import from_options
from ._options import filter_options, version_option


@click.command("transfer")
@click.argument("identifier", required=False)
@click.option("--to", "destination", required=True, metavar="URL",
              help="fts3/gfal: base URL (davs://, https://, root://, file://); globus: globus://COLLECTION/path; "
                   "rclone: any rclone destination (dir or remote:path)")
@click.option("--engine", required=True, type=click.Choice(["fts3", "globus", "rclone", "gfal"]),
              help="who moves the bytes")
@click.option("--dry-run", is_flag=True, help="print the job / commands and stop")
@filter_options
@click.option("--token", multiple=True, metavar="HOST=TOKEN",
              help="bearer token for HOST: the repository, the FTS3 server or transfer.api.globus.org")
@version_option
@click.option("--fts-server", envvar="DOI2DATA_FTS3_SERVER", metavar="URL",
              help="fts3: the FTS3 REST endpoint, e.g. https://fts3-pilot.cern.ch:8446 (env DOI2DATA_FTS3_SERVER)")
@click.option("--verify-checksum", default="target", show_default=True,
              type=click.Choice(["target", "source", "both", "none"]), help="fts3: FTS checksum mode")
@click.option("--overwrite", is_flag=True, help="fts3/gfal: replace existing destination files")
@click.option("--source-collection", metavar="UUID", help="globus: the collection holding the dataset's files")
@click.option("--source-root", metavar="PATH",
              help="globus: source path = PATH + file path (default: the path of each file's HTTPS URL)")
@click.option("--label", help="globus: task label")
@click.option("--rclone-route", default="auto", show_default=True, type=click.Choice(["auto", "doi", "url"]),
              help="rclone: its doi backend, URL copies, or auto")
@click.option("--copy-mode", type=click.Choice(["pull", "push", "streamed"]),
              help="gfal: skip third-party-copy attempts and use this mode")
@click.option("--tpc", type=click.Choice(["auto", "pull", "push", "never"]),
              help="gfal: HTTP third-party copy - the storage pulls from the repository, the source pushes, or "
                   "never (bytes stream through this machine); default auto tries pull, push, then streams")
@from_options
def transfer_command(identifier: str | None, destination: str, engine: str, dry_run: bool, include: Sequence[str],
                     exclude: Sequence[str], regex: Sequence[str], min_size: str | None, max_size: str | None,
                     token: Sequence[str], dataset_version: str | None, fts_server: str | None, verify_checksum: str,
                     overwrite: bool, source_collection: str | None, source_root: str | None, label: str | None,
                     tpc: str | None,
                     rclone_route: str, copy_mode: str | None, from_file: str | None = None,
                     max_identifiers: int = 100_000) -> None:
    """Build a checksummed transfer job from the dataset's manifest and hand it to ENGINE.

    fts3 and globus jobs are submitted to the service (the job id is printed); rclone and gfal
    commands are run here. Every file carries the repository's checksum for verification at the
    destination. --dry-run prints the job (JSON) or the commands (sh) instead.
    With --from FILE: one job per dataset, each into a folder named after its DOI under --to.
    """
    from ..api import resolve
    from ..errors import UsageError

    copy_mode = _copy_mode(tpc, copy_mode)

    if engine == "fts3" and not dry_run and not fts_server:
        raise UsageError("fts3 needs --fts-server URL (or DOI2DATA_FTS3_SERVER) to submit; or use --dry-run")
    settings = dict(engine=engine, dry_run=dry_run, token=token, fts_server=fts_server, verify_checksum=verify_checksum,
                    overwrite=overwrite, source_collection=source_collection, source_root=source_root, label=label,
                    rclone_route=rclone_route, copy_mode=copy_mode, full=not (include or exclude))
    filters = dict(include=include, exclude=exclude, regex=regex, min_size=min_size, max_size=max_size)
    if from_file is not None:
        from ._from import read_list, refuse

        refuse("transfer", **{"IDENTIFIER": identifier, "--version": dataset_version})
        _transfer_many(read_list(from_file, max_identifiers), destination, settings, filters)
        return
    if identifier is None:
        raise click.UsageError("Missing argument 'IDENTIFIER' (or --from FILE for many).")
    manifest = resolve(identifier, tokens=token, version=dataset_version, **filters)
    _hand_off(manifest, destination, **settings)


def _hand_off(manifest: Any, destination: str, *, engine: str, dry_run: bool, token: Sequence[str],
              fts_server: str | None, verify_checksum: str, overwrite: bool, source_collection: str | None,
              source_root: str | None, label: str | None, rclone_route: str, copy_mode: str | None,
              full: bool) -> Any:
    """Build one dataset's job, then print it (--dry-run), submit it or run it; returns the job."""
    from ..errors import UsageError
    from ..handoff import Handoff, engine_module
    from ..sizes import human_size

    module = engine_module(engine)
    job: Handoff
    if engine == "fts3":
        job = module.build(manifest, destination, verify_checksum=verify_checksum, overwrite=overwrite)
    elif engine == "globus":
        job = module.build(manifest, destination, source_collection=source_collection, source_root=source_root,
                           label=label)
    elif engine == "rclone":
        job = module.build(manifest, destination, route=rclone_route, full=full)
    else:
        job = module.build(manifest, destination, copy_mode=copy_mode, overwrite=overwrite)
    for message in job.messages:
        click.echo(f"note: {message}", err=True)
    if dry_run:
        click.echo(job.text, nl=False)
        return job
    if job.count == 0:
        raise UsageError("nothing to transfer")
    summary = f"{job.count} file(s), {human_size(job.total_size)}"
    if engine == "fts3":
        job_id = module.submit(job, fts_server or "", tokens=token)
        click.echo(job_id)
        click.echo(f"FTS3 job submitted: {summary}; status: {(fts_server or '').rstrip('/')}/jobs/{job_id}", err=True)
    elif engine == "globus":
        task_id = module.submit(job, tokens=token)
        click.echo(task_id)
        click.echo(f"Globus task submitted: {summary}; https://app.globus.org/activity/{task_id}", err=True)
    else:
        module.run(job)
        click.echo(f"{engine} copied and verified {summary} into {destination}", err=True)
    return job


def under(destination: str, folder: str) -> str:
    """``davs://host/base`` + folder -> ``davs://host/base/folder``; ``remote:`` -> ``remote:folder`` (rclone)."""
    if destination.endswith((":", "/")):
        return destination + folder
    return f"{destination}/{folder}"


def _transfer_many(batch: Any, destination: str, settings: dict[str, Any], filters: dict[str, Any]) -> None:
    """``transfer --from``: one job per dataset under ``--to``; listings share one client and rate budget."""
    import asyncio

    from ..api import aresolve
    from ..batch import BatchItem, DatasetOutcome, run
    from ._from import announcer, finish, printer

    async def one(item: BatchItem) -> DatasetOutcome:
        manifest = await aresolve(item.identifier or item.text, tokens=settings["token"], **filters)
        target = under(destination, item.folder or "dataset")
        job = await asyncio.to_thread(_hand_off, manifest, target, **settings)  # submits and runs block
        return DatasetOutcome(item.text, target, True, files=job.count, bytes=job.total_size)

    outcomes = run(batch.items, one, tokens=settings["token"], on_start=announcer(len(batch.items), False, False),
                   on_done=printer(False))
    finish(outcomes, batch.notes, False)


def _copy_mode(tpc: str | None, copy_mode: str | None) -> str | None:
    """``--tpc`` as gfal-copy's ``--copy-mode`` (``never`` = ``streamed``); the older ``--copy-mode`` still works."""
    from ..errors import UsageError
    from ..handoff.gfal import TPC

    if tpc is None:
        return copy_mode
    if copy_mode is not None and TPC[tpc] != copy_mode:
        raise UsageError(f"--tpc {tpc} contradicts --copy-mode {copy_mode}")
    return TPC[tpc]


def register(group: click.Group) -> None:
    group.add_command(transfer_command)
