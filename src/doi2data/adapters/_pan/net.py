"""Network helpers the facility adapters need beyond :class:`~doi2data.http.Http`.

Why: ICAT+ sessions are a JSON ``POST`` and WebDAV listings a ``PROPFIND`` with an XML body; web
directory listings and download pages are HTML, not JSON. These helpers go through
:meth:`~doi2data.http.Http.request` (retries, per-hop credentials, error translation, request
counting) and report every step through :func:`note` for ``--explain``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

import httpx

from ...errors import Doi2DataError, RecordNotFound, RepositoryError
from ...http import Http, raise_for_status

log = logging.getLogger("doi2data.adapters.route")
T = TypeVar("T")


def note(http: Http, message: str) -> None:
    """Record one step of an adapter's route (which API, which fallback) for ``--explain``.

    Every request is already in ``Http.history`` (the ``--explain`` route) and ``Http.requests``;
    this adds the *why*. The hook: when a route recorder is attached to the :class:`Http` (an
    object at ``http.route`` / ``http.explain`` / ``http.trace`` with a ``note``, ``step`` or
    ``append`` method), the step goes there; it is always logged at DEBUG on
    ``doi2data.adapters.route`` (``DOI2DATA_DEBUG=1`` or ``logging`` shows it).
    """
    log.debug(message)
    for attr in ("route", "explain", "trace"):
        sink = getattr(http, attr, None)
        if sink is None:
            continue
        for method in ("note", "step", "append"):
            fn = getattr(sink, method, None)
            if callable(fn):
                fn(message)
                return


async def send_body(http: Http, method: str, url: str, *, content: bytes | None = None, json_body: Any = None,
                    headers: Mapping[str, str] | None = None, retry: bool = True) -> httpx.Response:
    """Send ``method`` with a body through :meth:`Http.request` (same retries, per-hop credentials,
    request counting for ``--explain``). Returns the final response whatever its status."""
    return await http.request(method, url, headers=headers, content=content, json_body=json_body,
                              attempts=None if retry else 1)


async def get_text(http: Http, url: str, *, what: str, headers: Mapping[str, str] | None = None,
                   not_found: type[Doi2DataError] = RecordNotFound) -> tuple[str, httpx.Response]:
    """GET an HTML/text page: ``(text, response)``; HTTP errors become :mod:`doi2data.errors`."""
    response = await http.request("GET", url, headers=headers)
    raise_for_status(response, not_found=not_found, what=what)
    try:
        return response.text, response
    except (UnicodeDecodeError, LookupError) as exc:
        raise RepositoryError(f"{what} at {url} is not text", url=url) from exc


async def gather_all(*aws: Awaitable[Any]) -> list[Any]:
    """``asyncio.gather`` that lets every awaitable finish, then raises the first failure.

    Why: plain ``gather`` returns at the first exception and leaves the siblings running against
    an HTTP client that is about to close; here nothing outlives the adapter call.
    """
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


async def gather_limited(coros: Iterable[Awaitable[T]], limit: int = 8) -> list[T]:
    """:func:`gather_all` with at most ``limit`` awaitables running at once (order kept)."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(coro: Awaitable[T]) -> T:
        async with gate:
            return await coro

    return await gather_all(*(one(c) for c in coros))


async def generic_fallback(resolved: Any, http: Http) -> Any:
    """The manifest from the generic detection layers (Signposting, schema.org, contentUrl), or ``None``.

    Why: an adapter that claims URLs by shape alone (a typed ``…/`` URL, a ``/detail/<doi>`` page)
    would otherwise hide those layers when the page turns out not to be what the shape suggested.
    """
    import importlib

    from ...discovery import GENERIC_LAYERS

    for layer, target in GENERIC_LAYERS:
        module, _, attr = target.partition(":")
        adapter = getattr(importlib.import_module(module), attr)
        ref = adapter.recognize(resolved)
        if ref is None:
            continue
        try:
            manifest = await adapter.list_files(ref, resolved, http)
        except Doi2DataError as exc:
            note(http, f"{layer}: {exc}")
            continue
        note(http, f"found through the {layer} layer")
        return manifest
    return None


def json_or_none(response: httpx.Response) -> Any:
    """The JSON body of a 2xx response, or ``None`` (HTML error pages, SPA fallbacks, junk)."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


__all__ = ["gather_all", "gather_limited", "generic_fallback", "get_text", "json_or_none", "note", "send_body"]
