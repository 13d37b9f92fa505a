"""Click options shared by every command that selects files (one definition, one help text).

The rules behind them live in :mod:`doi2data.select`: globs, regexes and sizes combine the same
way in ``ls``, ``get``, ``verify``, ``export``, ``transfer`` and the gateway.
"""

from __future__ import annotations

from typing import Any

import click

PATTERN_HELP = "rsync-like glob; a pattern without '/' matches at any depth (repeatable)"


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


__all__ = ["PATTERN_HELP", "filter_options"]
