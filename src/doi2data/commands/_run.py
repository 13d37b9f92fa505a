"""``run_get``: a download with the CLI's progress display and report, shared by ``doi2data get``
(:mod:`doi2data.cli`) and ``doi2data demo`` (:mod:`doi2data.demo`).

Its own module so that both import it and neither imports the other: imports point one way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..api import download
from ..errors import DownloadIncomplete
from ..model import Manifest
from ..output import JsonLinesProgress, RichProgress, print_report
from ..transfer.engine import DownloadReport, ProgressSink, TransferOptions


def run_get(
    identifier: str | Manifest, dest: Path, *, include: Sequence[str] = (), exclude: Sequence[str] = (),
    options: TransferOptions | None = None, tokens: Sequence[str] = (), as_json: bool = False, quiet: bool = False,
    restore: bool = True, restore_timeout: float = 3600.0, regex: Sequence[str] = (),
    min_size: str | None = None, max_size: str | None = None, version: str | None = None,
    guestbook: Sequence[str] = (),
) -> DownloadReport:
    progress: ProgressSink | None
    if as_json:
        progress = JsonLinesProgress(sys.stdout)
    elif not quiet and sys.stderr.isatty():
        progress = RichProgress()
    else:
        progress = None
    try:
        report = download(identifier, dest, include=include, exclude=exclude, progress=progress,
                          raise_on_failure=False, options=options, tokens=tokens, restore=restore,
                          restore_timeout=restore_timeout,
                          restore_progress=None if quiet else lambda message: click.echo(message, err=True),
                          regex=regex, min_size=min_size, max_size=max_size, version=version,
                          guestbook=guestbook or None)
    finally:
        if isinstance(progress, RichProgress):
            progress.stop()
    if as_json:
        JsonLinesProgress(sys.stdout).summary(report)
    else:
        print_report(report)
    if report.failed:
        raise DownloadIncomplete(f"{len(report.failed)} file(s) failed (listed above)", report.failed)
    return report


__all__ = ["run_get"]
