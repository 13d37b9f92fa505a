"""URLs a repository hands out per file just before its download, without the engine knowing why.

Why: Dataverse 6.10+ wants a guestbook response before each download of a file whose dataset has
a guestbook, and answers it with a signed URL that works for about a minute (see
:mod:`doi2data.adapters.dataverse_guestbook`). The engine stays repository-agnostic: the run may
carry a :class:`UrlSigner`, which the engine asks, for every request, whether a manifest URL is
one of its own and, if so, for the URL to send instead. The manifest URL stays the file's
identity (resume state, reports, credentials' host); the signed one is only ever sent.

A covered URL is fetched in one request (no byte-range pieces), since each request of a piece
started after the signed URL expired would need another response; a resume within the URL's
lifetime reuses it, a later one is the next run's (one response per file per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..entry import FileEntry


class UrlSigner(Protocol):
    """One run's source of per-file URLs (see the module docstring)."""

    def covers(self, url: str) -> bool:
        """Whether requests for manifest URL ``url`` go to a URL from :meth:`sign` (cheap, any thread)."""

    async def prepare(self, entries: Sequence[FileEntry]) -> None:
        """Called once, on the event loop, before any byte moves, with the files still to fetch.

        May send requests (to learn what the repository asks) and raise a
        :class:`~doi2data.errors.Doi2DataError` that stops the run (e.g. answers the user must give).
        """

    def sign(self, url: str) -> str:
        """The URL to send for manifest URL ``url`` (a worker thread; may block on a request).

        Raises :class:`~doi2data.errors.TransferError` when this file cannot be fetched this run.
        """


__all__ = ["UrlSigner"]
