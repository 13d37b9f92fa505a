"""The Python API: ``resolve(doi) -> Manifest`` and ``download(doi, dest, ...)``.

Async versions (``aresolve``, ``adownload``) are the real implementations; the sync ones run
them on a private event loop - in a worker thread when the caller already runs a loop (Jupyter),
where ``asyncio.run`` would refuse.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .adapters._pan.autoindex import ListingLimits, listing_limits
from .adapters._versions import clean_version
from .errors import DownloadIncomplete, UsageError
from .http import Credentials, Http, make_client
from .identifiers import Identifier
from .model import Manifest
from .resolver import build_manifest
from .select import select
from .transfer.engine import DownloadReport, Engine, ProgressSink, TransferOptions
from .transfer.signing import UrlSigner
from .transfer.limits import TOKEN_RATES, HostLimiter

T = TypeVar("T")
Patterns = Sequence[str] | str | None
#: ``--guestbook`` answers: ``KEY=VALUE[,KEY=VALUE]`` / ``@FILE`` strings, or a mapping (Dataverse guestbooks)
GuestbookAnswers = Sequence[str] | str | Mapping[str, str] | None


def _token_hosts(credentials: Credentials) -> list[str]:
    """Hosts with published authenticated rates for which the user gave a token or account."""
    return [h for h in TOKEN_RATES if credentials.credential_for(httpx.URL(f"https://{h}/")) is not None]


@dataclass(frozen=True)
class Session:
    """What every resolve and download of a batch shares: one HTTP client and one per-host limiter
    (connections and the rate budget), on one event loop.

    Why: a repository's published limits count every request a client sends it, so 100 Zenodo
    DOIs in one run must draw on one bucket of 60/min, not on 100 fresh ones (see
    :mod:`doi2data.transfer.limits`). Active while :func:`shared_session` is entered; each
    dataset still gets its own :class:`~doi2data.transfer.engine.Engine` (its folder, its state).
    """

    client: httpx.AsyncClient
    limiter: HostLimiter
    loop: asyncio.AbstractEventLoop


_SESSION: ContextVar[Session | None] = ContextVar("doi2data_session", default=None)


@asynccontextmanager
async def shared_session(options: TransferOptions | None = None, tokens: Sequence[str] = ()) -> AsyncIterator[Session]:
    """Make :func:`aresolve` / :func:`adownload` (and the sync :func:`resolve` / :func:`download` called
    from a worker thread of this loop, e.g. by the exporters) share one client and limiter."""
    opts = options or TransferOptions()
    credentials = Credentials.parse(tokens)
    limiter = HostLimiter(opts.per_host, opts.rates, authenticated=_token_hosts(credentials))
    async with make_client() as client:
        session = Session(client, limiter, asyncio.get_running_loop())
        mark = _SESSION.set(session)
        try:
            yield session
        finally:
            _SESSION.reset(mark)


def _session() -> Session | None:
    """The shared session, if one is active on the running loop."""
    session = _SESSION.get()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return session if session is not None and session.loop is running else None


@asynccontextmanager
async def _client_and_limiter(limiter: Callable[[], HostLimiter]) -> AsyncIterator[tuple[httpx.AsyncClient, HostLimiter]]:
    """The shared session's client and limiter, or a fresh pair for this one call."""
    session = _session()
    if session is not None:
        yield session.client, session.limiter
        return
    async with make_client() as client:
        yield client, limiter()


def _listing(limits: ListingLimits | None) -> contextlib.AbstractContextManager[Any]:
    """Web-folder listing limits for one call (``None``: whatever is in force, e.g. the CLI's flags)."""
    if limits is None:
        return contextlib.nullcontext()
    return listing_limits(limits.max_depth, limits.max_pages, limits.max_entries)


def _catalogue(value: str | None) -> contextlib.AbstractContextManager[Any]:
    """A PaN catalogue for one call (``catalogue=``; ``None``: whatever is in force, e.g. ``--catalogue``)."""
    if value is None:
        return contextlib.nullcontext()
    from .catalogue import catalogue_source

    return catalogue_source(value)


def _run(coro: Coroutine[Any, Any, T], poll: Callable[[], None] | None = None) -> T:
    """Run ``coro`` to completion. In a worker thread when a loop already runs here (Jupyter); then
    ``poll`` is called every 0.2 s from this thread meanwhile (a notebook bar draws from the cell's thread)."""
    session = _SESSION.get()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if session is not None and session.loop.is_running():  # a worker thread of a batch: its loop, its budget
            return asyncio.run_coroutine_threadsafe(coro, session.loop).result()
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(asyncio.run, coro)
        while poll is not None and not future.done():  # not result(timeout=): the run may raise TimeoutError
            concurrent.futures.wait([future], timeout=0.2)
            poll()
        return future.result()


async def aresolve(
    identifier: str | Identifier, *, include: Patterns = None, exclude: Patterns = None,
    tokens: Sequence[str] = (), regex: Patterns = None, min_size: int | str | None = None,
    max_size: int | str | None = None, version: str | None = None, dataset: str | None = None,
    listing: ListingLimits | None = None, catalogue: str | None = None,
) -> Manifest:
    """Resolve a DOI / handle / landing URL into its manifest, optionally filtered.

    ``version`` picks a dataset version, ``dataset`` datasets inside the DOI (see :func:`resolve`).
    """
    version = clean_version(version)
    credentials = Credentials.parse(tokens)
    async with _client_and_limiter(lambda: HostLimiter(authenticated=_token_hosts(credentials))) as (client, limiter):
        http = Http(client, credentials=credentials, pace=limiter.token)
        with _listing(listing), _catalogue(catalogue):
            manifest = await build_manifest(identifier, http, version=version)
    return select(manifest, include, exclude, regex=regex, min_size=min_size, max_size=max_size, dataset=dataset)


def resolve(
    identifier: str | Identifier, *, include: Patterns = None, exclude: Patterns = None,
    tokens: Sequence[str] = (), regex: Patterns = None, min_size: int | str | None = None,
    max_size: int | str | None = None, version: str | None = None, dataset: str | None = None,
    listing: ListingLimits | None = None, catalogue: str | None = None,
) -> Manifest:
    """Resolve a DOI / handle / landing URL into its :class:`~doi2data.model.Manifest`.

    ``tokens`` are ``HOST=TOKEN`` strings (also read from ``DOI2DATA_TOKENS``), sent only to
    their host. Filters: see :mod:`doi2data.select`. ``version`` picks a dataset version
    (Dataverse ``"1.0"``, ``"2"``, ``":draft"``; Figshare and Dryad ``"2"``; Zenodo/InvenioRDM the
    version label, e.g. ``"1.0"``); ``None`` lists the latest published one. A repository without
    versions raises :class:`~doi2data.errors.VersionNotSupported`, a version that does not exist
    :class:`~doi2data.errors.RecordNotFound` naming the ones that do. ``dataset``: an expression over
    the datasets inside the DOI (``"kind == 'processed' and sample like 'lyso*'"``, see
    :mod:`doi2data.datasets_select`), where the repository lists them. ``listing``: how far a web
    folder is crawled (``ListingLimits(max_depth=32, max_pages=5000, max_entries=1_000_000)`` by default).
    """
    return _run(aresolve(identifier, include=include, exclude=exclude, tokens=tokens, regex=regex,
                         min_size=min_size, max_size=max_size, version=version, dataset=dataset, listing=listing,
                         catalogue=catalogue))


async def adownload(
    identifier: str | Identifier | Manifest,
    dest: str | Path = ".",
    *,
    include: Patterns = None,
    exclude: Patterns = None,
    jobs: int = 4,
    progress: ProgressSink | bool | None = None,
    raise_on_failure: bool = True,
    options: TransferOptions | None = None,
    tokens: Sequence[str] = (),
    restore: bool = True,
    restore_timeout: float = 3600.0,
    restore_progress: Callable[[str], None] | None = None,
    regex: Patterns = None,
    min_size: int | str | None = None,
    max_size: int | str | None = None,
    version: str | None = None,
    guestbook: GuestbookAnswers = None,
    dataset: str | None = None,
    listing: ListingLimits | None = None, catalogue: str | None = None,
) -> DownloadReport:
    """Download (verified, resumable, idempotent) every selected file into ``dest``.

    Files on tape (``offline``) are first brought online by their adapter's ``prepare`` hook when
    ``restore`` is on, waiting at most ``restore_timeout`` seconds (else ``RestoreTimeout``).
    ``version``: as in :func:`resolve` (not with a :class:`Manifest`, which is already one version).
    ``progress``: see :func:`download`.
    """
    version = clean_version(version)
    if version is not None and isinstance(identifier, Manifest):
        raise UsageError("version= applies to an identifier; a manifest is already listed at one version")
    opts = options or TransferOptions(jobs=jobs)
    answers = _guestbook_answers(guestbook)  # bad answers fail before any request
    credentials = Credentials.parse(tokens)
    # one politeness budget for API calls and files (the published authenticated rates where a token is given),
    # shared by every dataset of a batch (shared_session)
    fresh = lambda: HostLimiter(opts.per_host, opts.rates, authenticated=_token_hosts(credentials))  # noqa: E731
    async with _client_and_limiter(fresh) as (client, limiter):
        http = Http(client, credentials=credentials, pace=limiter.token)
        if isinstance(identifier, Manifest):
            manifest = identifier
        else:
            with _listing(listing), _catalogue(catalogue):
                manifest = await build_manifest(identifier, http, version=version)
        manifest = select(manifest, include, exclude, regex=regex, min_size=min_size, max_size=max_size,
                          dataset=dataset)
        manifest = await _prepare(manifest, http, restore=restore, timeout=restore_timeout, progress=restore_progress)
        signer = _url_signer(manifest, http, answers)
        from .output import choose_progress, finish_progress

        sink, created = choose_progress(progress)
        engine = Engine(None, Path(dest), options=opts, credentials=credentials, progress=sink, limiter=limiter,
                        signer=signer)
        try:
            report = await engine.run(manifest)
        finally:
            if created:
                finish_progress(sink)
    if raise_on_failure and report.failed:
        names = ", ".join(sorted(report.failed))
        raise DownloadIncomplete(f"{len(report.failed)} file(s) failed: {names}", report.failed)
    return report


async def _prepare(manifest: Manifest, http: Http, *, restore: bool, timeout: float,
                   progress: Callable[[str], None] | None) -> Manifest:
    """Run the listing adapter's optional ``prepare`` hook (:class:`~doi2data.adapters.base.Preparer`).

    Only when something is ``offline``, or when the adapter says ``prepare_always`` (Dryad: files
    need an API account, checked before any transfer starts); the adapter is the one discovery
    names, else the one that recognises the manifest's DOI / landing page (a manifest passed in by
    the caller).
    """
    if not manifest.files:
        return manifest
    offline = "offline" in manifest.files.distinct("access")  # type: ignore[attr-defined]  (a FileList: no entry built)
    adapter = _listing_adapter(manifest)
    if adapter is None:
        return manifest
    hook = getattr(adapter, "prepare", None)
    if hook is None or not (offline or getattr(adapter, "prepare_always", False)):
        return manifest
    prepared: Manifest = await hook(manifest, http, restore=restore, timeout=timeout, progress=progress)
    return prepared


def _listing_adapter(manifest: Manifest) -> Any:
    """The adapter that listed ``manifest`` (by its discovery record, else recognised again), or None."""
    from .adapters import KNOWN_ADAPTERS, find_adapter, load
    from .adapters.base import Resolved
    from .errors import UnsupportedRepository

    found = manifest.discovery.adapter if manifest.discovery is not None else None
    if found is not None and found in KNOWN_ADAPTERS:
        return load(found)
    ds = manifest.dataset
    try:
        adapter, _ = find_adapter(Resolved(ds.doi or ds.landing_url or "", ds.doi, ds.landing_url or "", None))
    except UnsupportedRepository:
        return None
    return adapter


def _guestbook_answers(guestbook: GuestbookAnswers) -> dict[str, str]:
    """``guestbook=`` (``["name=…,email=…", "@answers.json"]`` or a mapping) -> answers, checked."""
    from .adapters.dataverse_guestbook import parse_answers

    return parse_answers(guestbook)


def _url_signer(manifest: Manifest, http: Http, answers: dict[str, str]) -> UrlSigner | None:
    """The listing adapter's optional ``url_signer`` hook: per-file URLs handed out at download time
    (Dataverse guestbook responses, :mod:`doi2data.transfer.signing`); ``None`` for the others."""
    adapter = _listing_adapter(manifest)
    hook = getattr(adapter, "url_signer", None) if adapter is not None else None
    signer: UrlSigner | None = hook(manifest, http, answers) if hook is not None else None
    return signer


def download(
    identifier: str | Identifier | Manifest,
    dest: str | Path = ".",
    *,
    include: Patterns = None,
    exclude: Patterns = None,
    jobs: int = 4,
    progress: ProgressSink | bool | None = None,
    raise_on_failure: bool = True,
    options: TransferOptions | None = None,
    tokens: Sequence[str] = (),
    restore: bool = True,
    restore_timeout: float = 3600.0,
    restore_progress: Callable[[str], None] | None = None,
    regex: Patterns = None,
    min_size: int | str | None = None,
    max_size: int | str | None = None,
    version: str | None = None,
    guestbook: GuestbookAnswers = None,
    dataset: str | None = None,
    listing: ListingLimits | None = None, catalogue: str | None = None,
) -> DownloadReport:
    """Download every selected file of a dataset into ``dest`` and return the report.

    Raises :class:`~doi2data.errors.DownloadIncomplete` (with ``.failures``) when any file
    failed, unless ``raise_on_failure=False``. ``version``: as in :func:`resolve`. ``guestbook``: answers
    for a Dataverse dataset's guestbook (``["name=…,email=…,q1=…"]``, ``["@answers.json"]`` or a mapping),
    checked before any byte; one response per file is submitted just before its download.

    ``listing``: web-folder crawl limits, as in :func:`resolve`.

    ``progress``: ``None`` (default) shows a progress bar inside Jupyter and nothing elsewhere,
    ``True`` a bar everywhere (HTML in a notebook, rich bars on a terminal), ``False`` none; or a
    :class:`~doi2data.transfer.engine.ProgressSink` of your own.
    """
    from .output import choose_progress, finish_progress

    sink, created = choose_progress(progress)  # made here: a notebook bar draws from the caller's thread
    try:
        return _run(
            adownload(identifier, dest, include=include, exclude=exclude, jobs=jobs,
                      progress=sink if sink is not None else False,
                      raise_on_failure=raise_on_failure, options=options, tokens=tokens, restore=restore,
                      restore_timeout=restore_timeout, restore_progress=restore_progress, regex=regex,
                      min_size=min_size, max_size=max_size, version=version, guestbook=guestbook,
                      dataset=dataset, listing=listing, catalogue=catalogue),
            poll=getattr(sink, "refresh", None),
        )
    finally:
        if created:
            finish_progress(sink)


__all__ = ["ListingLimits", "Session", "adownload", "aresolve", "download", "resolve", "shared_session"]
