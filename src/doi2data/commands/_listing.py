"""``--max-depth/--max-pages/--max-entries``: how far ``ls``/``get`` list a web folder.

The limits reach the crawler (:mod:`doi2data.adapters._pan.autoindex`) through a context
variable set only while the command runs, so no signature between the CLI and the crawler
changes, and the Python API keeps its defaults (or :func:`~doi2data.adapters.webindex.listing_limits`).
"""

from __future__ import annotations

import functools
from typing import Any

import click


def listing_flags(command: Any) -> Any:
    """Add the three web-folder listing limits to a click command as ``max_depth``,
    ``max_pages`` and ``max_entries`` (defaults: :class:`ListingLimits`)."""
    from ..adapters._pan.autoindex import ListingLimits

    defaults = ListingLimits()
    for option in reversed([
        click.option("--max-depth", default=defaults.max_depth, show_default=True, type=click.IntRange(0, 10_000),
                     help="web folders: sub-folder levels listed below the landing folder"),
        click.option("--max-pages", default=defaults.max_pages, show_default=True, type=click.IntRange(1, 10**7),
                     help="web folders: listing pages (one per folder) fetched at most"),
        click.option("--max-entries", default=defaults.max_entries, show_default=True,
                     type=click.IntRange(1, 10**9), help="web folders: files and folders listed at most"),
    ]):
        command = option(command)
    return command


def listing_options(command: Any) -> Any:
    """:func:`listing_flags`, in force while the command runs."""
    from ..adapters._pan.autoindex import listing_limits

    @functools.wraps(command)
    def run(*args: Any, max_depth: int, max_pages: int, max_entries: int, **kwargs: Any) -> Any:
        with listing_limits(max_depth, max_pages, max_entries):
            return command(*args, **kwargs)

    return listing_flags(run)


__all__ = ["listing_flags", "listing_options"]
