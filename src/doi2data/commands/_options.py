"""Click options shared by every command that selects files (one definition, one help text).

The rules behind them live in :mod:`doi2data.select`: globs, regexes and sizes combine the same
way in ``ls``, ``get``, ``verify``, ``export``, ``transfer`` and the gateway.
"""

from __future__ import annotations

from typing import Any

import click

PATTERN_HELP = "rsync-like glob; a pattern without '/' matches at any depth (repeatable)"
VERSION_HELP = ("dataset version to list (default: the latest published): Dataverse 1.0, 2.1, 2 (latest 2.x), "
                ":draft (with --token); Figshare, Dryad 1, 2, ...; Zenodo/InvenioRDM the version label, e.g. 1.0")


def filter_options(command: Any) -> Any:
    """Add ``--include/--exclude/--regex/--min-size/--max-size`` to a click command."""
    for option in reversed([
        click.option("-i", "--include", multiple=True, metavar="GLOB", help=PATTERN_HELP),
        click.option("-e", "--exclude", multiple=True, metavar="GLOB", help=PATTERN_HELP),
        click.option("--regex", multiple=True, metavar="REGEX", help="Python regex searched in the path (repeatable)"),
        click.option("--min-size", metavar="SIZE", help="only files at least this big (e.g. 1MB)"),
        click.option("--max-size", metavar="SIZE", help="only files at most this big (e.g. 2GiB)"),
    ]):
        command = option(command)
    return command


def version_option(command: Any) -> Any:
    """Add ``--version V`` (passed as ``dataset_version``) to a click command that resolves a dataset.

    Why a sub-command option: ``doi2data --version`` stays the program's version; ``doi2data ls DOI
    --version 1.0`` picks the dataset's. Repositories without versions refuse it (exit 2).
    """
    return click.option("--version", "dataset_version", metavar="V", help=VERSION_HELP)(command)


__all__ = ["PATTERN_HELP", "VERSION_HELP", "filter_options", "version_option"]
