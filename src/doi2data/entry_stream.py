"""Entries handed on while an adapter lists them, so a listing can be printed before it ends.

Why: a 1,000,000-file record takes ~30 s to list; ``ls --format ndjson|urls|aria2|*sum`` piped into
another tool should start it at the first file, not after the last (issue 19). Adapters return a
finished :class:`~doi2data.model.Manifest` (their contract does not change); those that parse
large listings page by page also call :func:`emit` for each entry at the moment it is final.

Why a context variable: the sink is set by the command that prints (``ls``) around the whole
resolution, and reaches the adapter's parse loop without any signature between them changing;
every other caller (``get``, the gateway, the Python API) sets none and :func:`emit` costs one
lookup. A layer that transforms entries after its adapter (a DataCite collection prefixing its
parts' folders) runs under :func:`paused`.

What is emitted is *speculative*: the printer checks at the end that the lines it wrote are
exactly the lines of the final manifest (:mod:`doi2data.listing_printer`), and fails loudly
otherwise, so an adapter that emits something it later changes is caught, never silently wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .entry import FileEntry

Sink = Callable[["FileEntry"], None]

_SINK: ContextVar[Sink | None] = ContextVar("doi2data_entry_sink", default=None)


def emit(entry: FileEntry) -> None:
    """Hand ``entry`` (final: the value the returned manifest holds) to the active sink, if any."""
    sink = _SINK.get()
    if sink is not None:
        sink(entry)


@contextmanager
def entries_to(sink: Sink | None) -> Iterator[None]:
    """Send the entries emitted inside the block to ``sink`` (``None``: to nobody)."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


def paused() -> AbstractContextManager[None]:
    """A block whose emitted entries go nowhere (their manifest is transformed afterwards)."""
    return entries_to(None)


__all__ = ["Sink", "emit", "entries_to", "paused"]
