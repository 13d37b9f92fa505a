"""Click options shared by every command that selects files (one definition, one help text).

The rules behind them live in :mod:`doi2data.select`: globs, regexes and sizes combine the same
way in ``ls``, ``get``, ``verify``, ``export``, ``transfer`` and the gateway.
"""

from __future__ import annotations

import functools
from typing import Any

import click

PATTERN_HELP = "rsync-like glob; a pattern without '/' matches at any depth (repeatable)"
VERSION_HELP = ("dataset version to list (default: the latest published): Dataverse 1.0, 2.1, 2 (latest 2.x), "
                ":draft (with --token); Figshare, Dryad 1, 2, ...; Zenodo/InvenioRDM the version label, e.g. 1.0")


DATASET_HELP = ("datasets inside the DOI, by an expression over name, kind (raw/processed/other), sample, technique, "
                "instrument, start, end, files, size and parameters, e.g. \"kind == 'processed' and sample like "
                "'lyso*'\" or 'wavelength < 1.0' (where the repository lists datasets)")


CATALOGUE_HELP = ("also ask this PaN search API ('default': the public federated search) for the datasets "
                  "inside the DOI when its repository lists none (one more request)")


def filter_options(command: Any) -> Any:
    """Add ``--include/--exclude/--regex/--min-size/--max-size/--dataset`` to a click command.

    ``--dataset`` is applied by every :func:`doi2data.select.select` while the command runs (a context
    variable, :func:`doi2data.datasets_select.dataset_selection`), so command signatures stay as they were;
    its syntax is checked before any request.
    """
    from ..catalogue import catalogue_source
    from ..datasets_select import dataset_selection

    inner = command

    @functools.wraps(inner)
    def run(*args: Any, dataset_expr: str | None = None, catalogue: str | None = None, **kwargs: Any) -> Any:
        with dataset_selection(dataset_expr), catalogue_source(catalogue):
            return inner(*args, **kwargs)

    command = click.option("--dataset", "dataset_expr", metavar="EXPR", help=DATASET_HELP)(run)
    command = click.option("--catalogue", metavar="URL", help=CATALOGUE_HELP)(command)
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


__all__ = ["DATASET_HELP", "PATTERN_HELP", "VERSION_HELP", "filter_options", "version_option"]
