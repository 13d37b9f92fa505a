"""The Python API: ``resolve(doi) -> Manifest`` and ``download(doi, dest, ...)``.

Async versions (``aresolve``, ``adownload``) are the real implementations; the sync ones run
them on a private event loop - in a worker thread when the caller already runs a loop (Jupyter),
where ``asyncio.run`` would refuse.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import DownloadIncomplete
from .http import Credentials, Http, make_client
from .identifiers import Identifier
from .model import Manifest
from .resolver import build_manifest
from .select import select
from .transfer.engine import DownloadReport, Engine, ProgressSink, TransferOptions

T = TypeVar("T")
Patterns = Sequence[str] | str | None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def aresolve(
    identifier: str | Identifier, *, include: Patterns = None, exclude: Patterns = None,
    tokens: Sequence[str] = (),
) -> Manifest:
    """Resolve a DOI / handle / landing URL into its manifest, optionally filtered."""
    async with make_client() as client:
        manifest = await build_manifest(identifier, Http(client, credentials=Credentials.parse(tokens)))
    return select(manifest, include, exclude)


def resolve(
    identifier: str | Identifier, *, include: Patterns = None, exclude: Patterns = None,
    tokens: Sequence[str] = (),
) -> Manifest:
    """Resolve a DOI / handle / landing URL into its :class:`~doi2data.model.Manifest`.

    ``tokens`` are ``HOST=TOKEN`` strings (also read from ``DOI2DATA_TOKENS``), sent only to
    their host.
    """
    return _run(aresolve(identifier, include=include, exclude=exclude, tokens=tokens))


async def adownload(
    identifier: str | Identifier | Manifest,
    dest: str | Path = ".",
    *,
    include: Patterns = None,
    exclude: Patterns = None,
    jobs: int = 4,
    progress: ProgressSink | None = None,
    raise_on_failure: bool = True,
    options: TransferOptions | None = None,
    tokens: Sequence[str] = (),
) -> DownloadReport:
    """Download (verified, resumable, idempotent) every selected file into ``dest``."""
    opts = options or TransferOptions(jobs=jobs)
    credentials = Credentials.parse(tokens)
    async with make_client() as client:
        if isinstance(identifier, Manifest):
            manifest = identifier
        else:
            manifest = await build_manifest(identifier, Http(client, credentials=credentials))
        manifest = select(manifest, include, exclude)
        engine = Engine(None, Path(dest), options=opts, credentials=credentials, progress=progress)
        report = await engine.run(manifest)
    if raise_on_failure and report.failed:
        names = ", ".join(sorted(report.failed))
        raise DownloadIncomplete(f"{len(report.failed)} file(s) failed: {names}", report.failed)
    return report


def download(
    identifier: str | Identifier | Manifest,
    dest: str | Path = ".",
    *,
    include: Patterns = None,
    exclude: Patterns = None,
    jobs: int = 4,
    progress: ProgressSink | None = None,
    raise_on_failure: bool = True,
    options: TransferOptions | None = None,
    tokens: Sequence[str] = (),
) -> DownloadReport:
    """Download every selected file of a dataset into ``dest`` and return the report.

    Raises :class:`~doi2data.errors.DownloadIncomplete` (with ``.failures``) when any file
    failed, unless ``raise_on_failure=False``.
    """
    return _run(
        adownload(identifier, dest, include=include, exclude=exclude, jobs=jobs, progress=progress,
                  raise_on_failure=raise_on_failure, options=options, tokens=tokens)
    )


__all__ = ["adownload", "aresolve", "download", "resolve"]
