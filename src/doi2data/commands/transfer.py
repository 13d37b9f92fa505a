"""``doi2data transfer DOI --to URL --engine fts3|globus|rclone|gfal``: hand the copy to a transfer engine."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ._options import filter_options, version_option


@click.command("transfer")
@click.argument("identifier")
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
def transfer_command(identifier: str, destination: str, engine: str, dry_run: bool, include: Sequence[str],
                     exclude: Sequence[str], regex: Sequence[str], min_size: str | None, max_size: str | None,
                     token: Sequence[str], dataset_version: str | None, fts_server: str | None, verify_checksum: str,
                     overwrite: bool, source_collection: str | None, source_root: str | None, label: str | None,
                     rclone_route: str, copy_mode: str | None) -> None:
    """Build a checksummed transfer job from the dataset's manifest and hand it to ENGINE.

    fts3 and globus jobs are submitted to the service (the job id is printed); rclone and gfal
    commands are run here. Every file carries the repository's checksum for verification at the
    destination. --dry-run prints the job (JSON) or the commands (sh) instead.
    """
    from ..api import resolve
    from ..errors import UsageError
    from ..handoff import Handoff, engine_module
    from ..output import human_size

    module = engine_module(engine)
    if engine == "fts3" and not dry_run and not fts_server:
        raise UsageError("fts3 needs --fts-server URL (or DOI2DATA_FTS3_SERVER) to submit; or use --dry-run")
    manifest = resolve(identifier, include=include, exclude=exclude, tokens=token, regex=regex, min_size=min_size,
                       max_size=max_size, version=dataset_version)
    job: Handoff
    if engine == "fts3":
        job = module.build(manifest, destination, verify_checksum=verify_checksum, overwrite=overwrite)
    elif engine == "globus":
        job = module.build(manifest, destination, source_collection=source_collection, source_root=source_root,
                           label=label)
    elif engine == "rclone":
        job = module.build(manifest, destination, route=rclone_route, full=not (include or exclude))
    else:
        job = module.build(manifest, destination, copy_mode=copy_mode, overwrite=overwrite)
    for message in job.messages:
        click.echo(f"note: {message}", err=True)
    if dry_run:
        click.echo(job.text, nl=False)
        return
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


def register(group: click.Group) -> None:
    group.add_command(transfer_command)
