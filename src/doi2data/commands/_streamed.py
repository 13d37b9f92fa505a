"""``ls --format ndjson|urls|aria2|*sum``: lines written as the listing streams in.

The printing and its final check live in :mod:`doi2data.listing_printer`; this module decides
when a listing can stream: a streamable format, no ``--dataset`` or ``--catalogue`` (both regroup
files after listing) and, for ndjson, a DOI to put on each line before the record says it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from ..catalogue import active as catalogue_active
from ..datasets_select import active as datasets_active
from ..entry_stream import entries_to
from ..identifiers import parse_identifier
from ..listing_printer import STREAMABLE, StreamedListing
from ..model import Manifest
from ..select import FileFilter


def ls_streamed(name: str, identifier: str, resolve: Callable[[], Manifest], filters: Mapping[str, Any]
                ) -> Manifest | None:
    """Run ``resolve`` printing ``name`` lines as entries arrive: None when they were printed,
    else the manifest, for the caller to print the usual way (this listing did not stream).
    Raises what ``resolve`` raises, and :class:`~doi2data.errors.ListingChanged` when the
    printed lines turn out wrong."""
    if name not in STREAMABLE or datasets_active() or catalogue_active():
        return resolve()
    ident = parse_identifier(identifier)
    chooser = FileFilter.of(filters.get("include"), filters.get("exclude"), regex=filters.get("regex"),
                            min_size=filters.get("min_size"), max_size=filters.get("max_size"))
    printer = StreamedListing(name, sys.stdout, chooser, ident.value if ident.is_doi else None)
    with entries_to(printer):
        manifest = resolve()
    notes = printer.finish(manifest)
    if notes is None:  # nothing was printed yet: the caller prints the manifest in path order
        return manifest
    for note in notes:
        click.echo(f"note: {note}", err=True)
    return None


__all__ = ["ls_streamed"]
