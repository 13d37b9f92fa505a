"""``GET /{identifier}``: one route, four answers - manifest, file, archive or subset.

Dispatch on the query (same selection rules as the CLI, :mod:`doi2data.select`):

* ``extract`` / ``list`` / ``dataset`` / ``slice``: a subset of one file; ``where``: frames chosen
  by metadata, as a table or (with ``archive``) an archive (:mod:`.subsets`);
* ``archive=zip|tar``: the selection as one verified, streamed archive (:mod:`.stream`);
* ``file=GLOB`` matching one file: that file (redirect to the origin, or streamed with ranges);
  several: ``300 Multiple Choices`` with the matching manifest;
* otherwise: the manifest (``include``/``exclude`` filter it), content-negotiated.

``datasets=EXPR`` narrows any of these to the datasets inside the DOI that the expression chooses
(the CLI's ``--dataset``, :mod:`doi2data.datasets_select`). Not ``dataset=``: that names an HDF5
dataset path with ``file=``/``slice=``.

Every answer carries the dataset's Signposting ``Link`` header.
"""

from __future__ import annotations

import functools
import logging
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import AccessDenied, Doi2DataError, InvalidIdentifier, UsageError
from ..identifiers import Identifier, parse_identifier
from ..model import Dataset, FileEntry, Manifest
from ..paths import plan_paths
from .archive import Member
from .manifests import Entry
from .negotiate import choose, negotiate
from .pages import PAGE_HEADERS, render_home
from .problems import NotFound, TooLarge, from_error, problem
from .represent import OFF_LOOP_FILES, Streamed, cache_headers, etag_for, manifest_response, rendered
from .signposting import dataset_links, dataset_path, file_links, header_value, media_type_of
from .stream import (COPIED_RESPONSE, FORWARDED_REQUEST, StreamedBody, archive_kind, archive_response, blocking,
                     disposition, open_origin, partial_file, slug, verified_file)
from .query import Query
from .subsets import SUBSET_KEYS, subset_response

if TYPE_CHECKING:
    from .gateway import Gateway

log = logging.getLogger("doi2data.gateway")


@lru_cache(maxsize=4096)
def _identifier(raw: str) -> Identifier:
    """Parse (memoised: the hot path sees the same few identifiers over and over)."""
    ident = parse_identifier(raw)
    if ident.scheme == "url":
        raise InvalidIdentifier("the gateway takes DOIs and handles, not URLs (it is not a proxy)", identifier=raw)
    return ident


async def dataset_endpoint(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    raw = request.path_params["identifier"]
    accept = request.headers.get("accept")
    try:
        client = gw.client_of(request.scope)
        gw.limits.admit(client)
        query = Query.parse(request, gw)
        ident = _identifier(raw)
        canonical = dataset_path(ident)
        if request.scope["path"] != canonical and request.scope.get("raw_path", b"").decode("latin-1") != canonical:
            query_string = request.scope.get("query_string", b"").decode("latin-1")
            target = gw.base(request) + canonical + (f"?{query_string}" if query_string else "")
            return RedirectResponse(target, status_code=308)
        entry, state = await gw.manifests.get(ident)
        request.state.cache, request.state.doi = state, ident.value
        if query.narrowed:  # globs over a large manifest: on a worker thread
            await blocking(query.chosen, entry.manifest)
        return await _dispatch(request, gw, query, ident, entry, client)
    except Doi2DataError as exc:
        if "format" not in request.query_params and _wants_html(accept):
            return Response(render_home(gw.base(request), error=str(exc), value=raw), status_code=exc.http_status,
                            media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
        return from_error(exc, request.url.path)
    except Exception as exc:  # a bug somewhere below: still a problem+json, and a traceback in the log
        log.error("unhandled error for %s", raw, exc_info=exc)
        request.state.error = f"{type(exc).__name__}: {exc}"
        return problem(500, "Internal server error", f"the gateway failed ({type(exc).__name__}); see its log",
                       instance=request.url.path)


def _wants_html(accept: str | None) -> bool:
    try:
        return negotiate(accept).name == "html"
    except Doi2DataError:
        return False


async def _dispatch(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry,
                    client: str) -> Response:
    base = gw.base(request)
    anchor = base + dataset_path(ident)
    memo = entry.rendered.get(f"links\0{anchor}")
    if memo is None:
        links = functools.partial(dataset_links, anchor, ident, entry.manifest, max_items=gw.config.max_item_links)
        # the first open files are looked for among all of them: off the loop when there are many
        # (a million restricted files were a 5 s scan on it)
        found = await blocking(links) if len(entry.manifest.files) > OFF_LOOP_FILES else links()
        memo = header_value(found).encode()
        entry.rendered[f"links\0{anchor}"] = memo
    headers = {"Link": memo.decode()}
    head = request.method == "HEAD"
    if any(k in query.one for k in SUBSET_KEYS):
        return await subset_response(request, gw, query, ident, entry, client, headers)
    if "archive" in query.one:
        return await _archive(request, gw, query, ident, entry, client, headers, head)
    if query.file:
        chosen = query.chosen(entry.manifest)
        if len(chosen.files) == 1:
            return await _single(request, gw, query, ident, chosen.files[0], anchor, client, headers, head,
                                 entry.manifest.dataset)
        if not chosen.files:
            raise NotFound(f"no file of {ident.value} matches {', '.join(query.file)}")
        return await _manifest(request, gw, query, ident, entry, chosen, base, anchor, headers, client, status=300)
    return await _manifest(request, gw, query, ident, entry, query.chosen(entry.manifest), base, anchor, headers,
                           client)


async def _manifest(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry, chosen: Manifest,
                    base: str, anchor: str, headers: dict[str, str], client: str, status: int = 200) -> Response:
    choice = choose(request.headers.get("accept"), query.one.get("format"))
    filtered = chosen is not entry.manifest
    selection_key = "\0".join(["f", *query.file, "i", *query.include, "e", *query.exclude, "d",
                               query.one.get("datasets", ""), *(["p", str(query.page)] if query.page > 1 else [])])
    again = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    body = await rendered(choice, chosen, entry, ident, anchor, base, filtered,
                          include=" ".join(query.include or query.file), page=query.page if choice.name == "html" else 1,
                          again=again)
    headers = {**headers, **cache_headers(entry, request.state.cache, max_age=gw.manifests.remaining(entry),
                                          stale=gw.manifests.stale, age=gw.manifests.age(entry))}
    if choice.name == "html":
        headers.update(PAGE_HEADERS)
    request.state.kind = choice.name
    release = None
    if isinstance(body, Streamed):  # made as it is sent (a minute of CPU for a million files): a stream slot
        gw.limits.acquire(client)
        release = functools.partial(gw.limits.release, client)
    return manifest_response(body, choice, headers, status=status, etag=etag_for(entry, choice, selection_key),
                             if_none_match=request.headers.get("if-none-match"), head=request.method == "HEAD",
                             release=release)


def _check_open(entry: FileEntry) -> None:
    if entry.access != "open":
        raise AccessDenied(f"{entry.path!r} is {entry.access}: the gateway serves open files only")
    if not entry.urls:
        raise NotFound(f"{entry.path!r} has no download URL")


async def _single(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: FileEntry, anchor: str,
                  client: str, headers: dict[str, str], head: bool, dataset: Dataset) -> Response:
    _check_open(entry)
    headers = {**headers, "Link": headers["Link"] + ", " + header_value(file_links(anchor, ident, dataset))}
    mode = query.one.get("mode", gw.config.single_file)
    if mode not in ("redirect", "stream"):
        raise UsageError("mode must be redirect or stream")
    request.state.kind = f"file-{mode}"
    if mode == "redirect":
        url = entry.urls[0]
        await gw.policy.check(url)
        return RedirectResponse(url, status_code=302, headers=headers)
    name = entry.path.rsplit("/", 1)[-1]
    headers.update({"Content-Disposition": disposition(name), "Accept-Ranges": "bytes"})
    media = media_type_of(entry)
    if head:
        if entry.size is not None:
            headers["Content-Length"] = str(entry.size)
        return Response(status_code=200, headers=headers, media_type=media)
    forwarded = {k: v for k in FORWARDED_REQUEST if (v := request.headers.get(k))}
    gw.limits.acquire(client)
    try:
        origin = await open_origin(gw.sync_client, entry, forwarded, ok=(200, 206, 304, 416))
    except BaseException:
        gw.limits.release(client)
        raise
    for key in COPIED_RESPONSE:
        if key in origin.headers:
            headers[key.title()] = origin.headers[key]
    media = entry.media_type or origin.headers.get("content-type") or media
    if origin.status_code == 200:
        if entry.size is not None and origin.headers.get("content-length") not in (None, str(entry.size)):
            origin.close()
            gw.limits.release(client)
            raise NotFound(f"{entry.path!r}: the origin now serves {origin.headers['content-length']} bytes, "
                           f"the manifest says {entry.size}; refusing to pass on a different file")
        body = verified_file(gw.sync_client, entry, origin)
    elif origin.status_code == 206:
        body = partial_file(origin)
    else:
        origin.close()
        gw.limits.release(client)
        return Response(status_code=origin.status_code, headers=headers, media_type=media)
    return StreamedBody(gw.held(body, client), status_code=origin.status_code, headers=headers, media_type=media)


async def _archive(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry, client: str,
                   headers: dict[str, str], head: bool) -> Response:
    kind = archive_kind(query.one["archive"])
    chosen = query.chosen(entry.manifest).files
    # at most one past the limit is built (a million-file dataset made a list of every entry, on the event loop)
    limit = gw.config.max_archive_members
    servable = await blocking(lambda: list(islice((f for f in chosen if f.access == "open" and f.urls), limit + 1)))
    if not servable:
        if chosen:
            raise AccessDenied(f"none of the {len(chosen)} matching file(s) is open")
        raise NotFound(f"no file of {ident.value} matches the selection")
    if len(servable) > limit:
        raise TooLarge(f"more than {limit} files; an archive holds at most {limit}")
    plans, _ = plan_paths(f.path for f in servable)
    members = [Member(plan.local, f) for plan, f in zip(plans, servable) if plan is not None]
    return await archive_response(request, gw, kind, members, filename=f"{slug(ident)}.{kind}",
                                  etag_parts=[entry.etag], year=entry.manifest.dataset.year, client=client,
                                  headers={**headers, "X-Doi2data-Skipped": str(len(chosen) - len(members))},
                                  head=head)


__all__ = ["Query", "dataset_endpoint"]
