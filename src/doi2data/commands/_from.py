"""``--from FILE``: the click side of :mod:`doi2data.batch`, shared by get, ls, verify, export and transfer.

One option definition, one way to print the run's summary (stderr, or JSON lines on stdout with
``--json``) and one exit code for the whole list (:func:`doi2data.batch.exit_code`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..batch import MAX_IDENTIFIERS, BatchIncomplete, BatchInput, BatchItem, DatasetOutcome, read_identifiers
from ..errors import UsageError

FROM_HELP = ("many datasets: identifiers from FILE ('-': stdin), one a line, or `search --ndjson` output; "
             "each into its own folder")


def from_options(command: Any) -> Any:
    """Add ``--from FILE`` and ``--max-identifiers N`` to a click command."""
    for option in reversed([
        click.option("--from", "from_file", metavar="FILE", help=FROM_HELP),
        click.option("--max-identifiers", default=MAX_IDENTIFIERS, show_default=True, type=click.IntRange(1, 10**7),
                     metavar="N", help="--from: refuse a list with more identifiers than this"),
    ]):
        command = option(command)
    return command


def read_list(from_file: str, max_identifiers: int) -> BatchInput:
    """The checked list (every problem with it is a one-line error, exit 2, before any request)."""
    return read_identifiers(from_file, max_identifiers=max_identifiers)


def refuse(command: str, **given: Any) -> None:
    """Options that name one dataset's parts make no sense for a list: refused, not ignored."""
    names = [name for name, value in given.items() if value]
    if names:
        raise UsageError(f"{command} --from: {', '.join(names)} appl{'ies' if len(names) == 1 else 'y'} "
                         "to one dataset, not to a list")


def only_dest(identifier: str | None, dest: Any, command: str) -> Any:
    """With ``--from`` the one positional argument is DEST (click fills IDENTIFIER first); default: here."""
    if identifier is not None and dest is not None:
        raise UsageError(f"{command} --from FILE takes no IDENTIFIER, only DEST")
    chosen = dest if dest is not None else identifier
    return Path(chosen) if chosen is not None else Path(".")


def announcer(total: int, quiet: bool, as_json: bool) -> Any:
    """``[3/10] 10.5281/zenodo.1 -> 10.5281_zenodo.1`` on stderr before each dataset (not with -q/--json)."""
    if quiet or as_json:
        return None

    def start(index: int, item: BatchItem) -> None:
        where = f" -> {item.folder}" if item.folder else ""
        click.echo(f"[{index + 1:,}/{total:,}] {item.text}{where}", err=True)

    return start


def printer(as_json: bool) -> Any:
    """Each dataset's outcome as it ends: a JSON line on stdout (``--json``), or failures on stderr."""

    def done(outcome: DatasetOutcome) -> None:
        report, outcome.report = outcome.report, None  # a long list keeps its counts, not every file's result
        if as_json:
            click.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
            return
        if not outcome.ok:
            click.echo(outcome.line(), err=True)
            failed = sorted(report.failed.items()) if report is not None else []
            for path, reason in failed[:5]:
                click.echo(f"  FAILED {path}: {reason}", err=True)
            if len(failed) > 5:
                click.echo(f"  ... and {len(failed) - 5} more (re-run to resume)", err=True)

    return done


def finish(outcomes: Sequence[DatasetOutcome], notes: Sequence[str], as_json: bool) -> None:
    """Print the summary and exit with the list's code (raises :class:`BatchIncomplete` unless all succeeded)."""
    from ..batch import summary_json, summary_lines

    if as_json:
        click.echo(json.dumps(summary_json(outcomes, notes)))
    else:
        click.echo("\n".join(["summary:", *("  " + line for line in summary_lines(outcomes, notes))]), err=True)
    if any(not o.ok for o in outcomes):
        raise BatchIncomplete(outcomes)


# the commands ------------------------------------------------------------------------------------
def get_many(batch: BatchInput, root: Path, *, options: Any, tokens: Sequence[str], as_json: bool, quiet: bool,
             rebuild_state: bool, **download: Any) -> None:
    """``get --from``: each dataset into ``root/<folder>``, verified; one summary and exit code."""
    from ..batch import download_many
    from ..output import RichProgress

    def progress(item: BatchItem) -> Any:
        if rebuild_state:
            from ..transfer.state import set_aside

            moved = set_aside(root / (item.folder or "dataset"))
            if moved is not None:
                click.echo(f"note: old download state moved to {moved}; files on disk are checked again", err=True)
        return RichProgress() if not (quiet or as_json) and sys.stderr.isatty() else None

    outcomes = download_many(batch, root, options=options, tokens=tokens, progress=progress,
                                 on_start=announcer(len(batch.items), quiet, as_json), on_done=printer(as_json),
                                 restore_progress=None if quiet else lambda message: click.echo(message, err=True),
                                 **download)
    finish(outcomes, batch.notes, as_json)


def ls_many(batch: BatchInput, *, as_json: bool, tokens: Sequence[str], **filters: Any) -> None:
    """``ls --from``: each manifest in turn (a table each, or one JSON document per line)."""
    from ..api import aresolve
    from ..batch import run
    from ..output import print_manifest

    async def one(item: BatchItem) -> DatasetOutcome:
        manifest = await aresolve(item.identifier or item.text, tokens=tokens, **filters)
        if as_json:
            click.echo(json.dumps(manifest.to_json(), ensure_ascii=False))
        else:
            click.echo(f"\n== {item.text}", err=False)
            print_manifest(manifest)
        return DatasetOutcome(item.text, None, True, files=len(manifest.files), bytes=manifest.total_size)

    def done(outcome: DatasetOutcome) -> None:
        if outcome.ok:
            return
        if as_json:  # one line per identifier on stdout, the failures too
            click.echo(json.dumps({"identifier": outcome.identifier, "error": outcome.error,
                                   "exit_code": outcome.exit_code}, ensure_ascii=False))
        else:
            click.echo(outcome.line(), err=True)

    outcomes = run(batch.items, one, tokens=tokens, on_done=done)
    from ..batch import summary_lines

    click.echo("\n".join(["summary:", *("  " + line for line in summary_lines(outcomes, batch.notes))]), err=True)
    if any(not o.ok for o in outcomes):
        raise BatchIncomplete(outcomes)


def verify_many(batch: BatchInput, root: Path, *, as_json: bool, tokens: Sequence[str], rebuild_state: bool,
                **filters: Any) -> None:
    """``verify --from``: each dataset's folder under ``root`` re-checked against its manifest (local only)."""
    import asyncio

    from ..api import aresolve
    from ..batch import run
    from ..transfer.verify import verify_tree

    async def one(item: BatchItem) -> DatasetOutcome:
        folder = root / (item.folder or "dataset")
        if rebuild_state:
            from ..transfer.state import set_aside

            set_aside(folder)
        manifest = await aresolve(item.identifier or item.text, tokens=tokens, **filters)
        results = await asyncio.to_thread(verify_tree, manifest, folder)
        bad = list(results.where("missing", "mismatch"))
        if not as_json:
            for r in bad[:20]:
                click.echo(f"  {r.verdict.upper():9} {item.folder}/{r.local or r.path}"
                           + (f": {r.detail}" if r.detail else ""), err=True)
            if len(bad) > 20:
                click.echo(f"  ... and {len(bad) - 20} more", err=True)
        count = {v: results.tally(v) for v in ("ok", "unchecked", "skipped")}
        error = None
        if bad:
            error = f"{len(bad)} file(s) missing or not matching" + ("" if folder.is_dir() else f" ({folder} is missing)")
        return DatasetOutcome(item.text, item.folder, not bad, files=len(results), bytes=manifest.total_size,
                              verified=count["ok"], failed=len(bad), unchecked=count["unchecked"],
                              skipped=count["skipped"], error=error, exit_code=1 if bad else 0)

    outcomes = run(batch.items, one, tokens=tokens, on_start=announcer(len(batch.items), False, as_json),
                   on_done=printer(as_json))
    finish(outcomes, batch.notes, as_json)


__all__ = ["FROM_HELP", "announcer", "finish", "from_options", "get_many", "ls_many", "only_dest", "printer",
           "read_list", "refuse", "verify_many"]
