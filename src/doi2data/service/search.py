"""``GET /search``: the CLI's ``doi2data search`` as a gateway route (JSON, or an HTML results page).

Why only operator-configured sources: ``doi2data search --endpoint URL`` / ``--oai URL`` lets a
user aim the search at any host; taken from a query string that would make the gateway an open
proxy (any caller picks the host the gateway fetches). So callers choose a source by *name*
(``source=panosc``) among :attr:`GatewayConfig.search_sources <doi2data.service.config.GatewayConfig>`
(``NAME=URL``; the kind is the name up to its first dot: ``panosc.ess=https://…/panosc-api``), and
``endpoint=``, ``oai=`` and the other URL-ish options are refused with a 400. OAI-PMH is not
offered: a harvest is a long streamed job (the CLI's), not one request-response page.

Why one upstream request per page: a gateway page is bounded in time (:data:`SEARCH_TIMEOUT`, fewer
retries than the CLI) and size (``limit`` at most :data:`MAX_LIMIT`); paging continues through an
opaque ``cursor`` (base64 JSON of the source position - PaN ``skip``, DataCite page number or
cursor - tied to a fingerprint of the query, so a cursor cannot be replayed against another query).
A PaN page may hold fewer hits than ``limit`` (documents failing the re-check of the filters are
dropped): follow ``next`` until it is null.

Everything goes through the gateway's policy-checked async client (no private destinations, no
cookies, no credentials), each client's searches in flight count against its stream slots, all
searches in flight in the process are capped (:data:`MAX_INFLIGHT`, 503 beyond), and answers are
kept :data:`CACHE_TTL` seconds in a small LRU, so a slow catalogue cannot stall other requests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import Doi2DataError, RepositoryError, UsageError
from ..http import Http
from ..search import datacite, panosc
from ..search.common import Hit, SearchQuery, fetch_page, loads_json, parse_date, parse_param
from .negotiate import negotiate
from .pages import PAGE_HEADERS, render_search, root_of, safe_href
from .problems import GatewayError, NotAcceptable, NotFound, TooManyRequests, from_error, problem
from .safety import check_query
from .signposting import dataset_path

if TYPE_CHECKING:
    from .gateway import Gateway

log = logging.getLogger("doi2data.gateway")

KINDS = ("panosc", "datacite")
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
MAX_TEXT = 1000
MAX_WORD = 200
MAX_PARAMS = 8
MAX_CURSOR = 4096
SEARCH_TIMEOUT = 30.0
MAX_INFLIGHT = 16
CACHE_TTL = 60.0
CACHE_ENTRIES = 256
CACHE_BYTES = 32 << 20  # what the cache may hold in all (a page of 200 hostile maximal hits is ~1 MB)
MAX_TECHNIQUES = 20
KNOWN = ("q", "source", "facility", "technique", "param", "from", "until", "limit", "cursor", "client", "provider",
         "type", "format")
#: CLI options that name a host or carry credentials: never from a caller (see the module docstring).
REFUSED = ("endpoint", "oai", "url", "base", "set", "metadata-prefix", "metadata_prefix", "token", "rate")


class SearchFailed(GatewayError):
    """The configured catalogue failed or answered something unusable (502)."""

    http_status = 502


class SearchTimeout(GatewayError):
    http_status = 504


class SearchBusy(GatewayError):
    http_status = 503


@dataclass(frozen=True)
class Source:
    name: str
    kind: str       # panosc | datacite
    endpoint: str


def parse_sources(entries: Sequence[str]) -> dict[str, Source]:
    """``("panosc=https://…/api", "datacite=https://api.datacite.org")`` -> name -> :class:`Source`, in order.

    A bad entry is the operator's mistake: ValueError at start-up, not a 500 at the first search.
    """
    sources: dict[str, Source] = {}
    for entry in entries:
        name, sep, url = entry.partition("=")
        name, url = name.strip().lower(), url.strip()
        kind = name.split(".", 1)[0]
        parts = urlsplit(url) if sep else None
        if kind not in KINDS or not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"bad search source {entry!r}: expected NAME=URL with NAME panosc[.x] or "
                             f"datacite[.x] and an http(s) URL")
        sources[name] = Source(name, kind, url.rstrip("/"))
    return sources


@dataclass
class Asked:
    """One validated ``/search`` request."""

    source: Source
    query: SearchQuery
    limit: int
    position: dict[str, Any] = field(default_factory=dict)
    fmt: str | None = None
    params: list[tuple[str, str]] = field(default_factory=list)  # the normalised query string (for next links)
    given: bool = False  # anything asked at all (an HTML page without it shows only the form)

    def fingerprint(self) -> str:
        q = self.query
        key = [self.source.name, q.text, q.facility, q.technique, [p.text() for p in q.params], q.date_from,
               q.date_until, q.client, q.provider, q.resource_type, self.limit]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


def _word(value: str, name: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_WORD or not text.isprintable():
        raise UsageError(f"bad {name}= {text[:40]!r}: at most {MAX_WORD} printable characters")
    return text


def _limit(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_LIMIT
    text = value.strip()
    if not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_LIMIT:
        raise UsageError(f"bad limit= {text[:20]!r}: a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def encode_cursor(fingerprint: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"h": fingerprint, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, fingerprint: str) -> dict[str, Any]:
    """The source position in a cursor this gateway made for the same query; UsageError otherwise."""
    bad = UsageError("bad cursor=: use the 'next' link of the previous page, with the same query")
    if len(text) > MAX_CURSOR:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise bad from None
    if not isinstance(data, dict) or data.get("h") != fingerprint or not set(data) <= {"h", "k", "n", "c", "p"}:
        raise bad
    position = {k: v for k, v in data.items() if k != "h"}
    for key in ("k", "n"):
        if key in position and not (type(position[key]) is int and 0 <= position[key] <= 10**9):
            raise bad
    if "p" in position and not (isinstance(position["p"], str) and len(position["p"]) == 16):
        raise bad
    if "c" in position and not (isinstance(position["c"], str) and 0 < len(position["c"]) <= 2000
                                and position["c"].isascii() and position["c"].isprintable()):
        raise bad
    return position


def parse_request(items: list[tuple[str, str]], sources: dict[str, Source]) -> Asked:
    """Validate the query string the way the CLI validates its options (UsageError -> 400)."""
    if not sources:
        raise NotFound("searching is switched off on this gateway (no search sources configured)")
    one: dict[str, str] = {}
    params: list[str] = []
    for key, value in items:
        if key in REFUSED:
            raise UsageError(f"query parameter {key!r} is not accepted: the gateway searches only the sources its "
                             f"operator configured (source={'|'.join(sources)}); use the CLI for other endpoints")
        if key == "param":
            if value.strip():
                params.append(value)
        elif key in KNOWN:
            if key in one:
                raise UsageError(f"query parameter {key!r} given twice")
            one[key] = value
        elif not key.startswith("_"):
            raise UsageError(f"unknown query parameter {key!r}; known: {', '.join(KNOWN)}")
    name = one.get("source", "").strip().lower() or next(iter(sources))
    source = sources.get(name)
    if source is None:
        raise UsageError(f"unknown search source {one['source'][:40]!r}; choose one of: {', '.join(sources)}")
    text = " ".join(one.get("q", "").split())
    if len(text) > MAX_TEXT or not text.isprintable():
        raise UsageError(f"the search text (q=) must be printable and at most {MAX_TEXT:,} characters")
    if len(params) > MAX_PARAMS:
        raise UsageError(f"at most {MAX_PARAMS} param= filters")
    limit = _limit(one.get("limit"))
    client, provider = _word(one.get("client", ""), "client"), _word(one.get("provider", ""), "provider")
    rtype = (one.get("type") or "").strip()
    if source.kind != "datacite" and (client or provider or rtype):
        raise UsageError("client=, provider= and type= apply to DataCite sources")
    query = SearchQuery(
        text=text, facility=_word(one.get("facility", ""), "facility"),
        technique=_word(one.get("technique", ""), "technique"), params=[parse_param(p) for p in params],
        date_from=parse_date(one["from"], "from") if one.get("from", "").strip() else None,
        date_until=parse_date(one["until"], "until") if one.get("until", "").strip() else None,
        limit=limit, client=client, provider=provider,
        resource_type="" if rtype.lower() == "any" else (_word(rtype, "type") or "dataset"))
    first = (query.date_from or "")[:10] + ("-01-01" if len(query.date_from or "") == 4 else "")
    last = (query.date_until or "")[:10] + ("-12-31" if len(query.date_until or "") == 4 else "")
    if first and last and first > last:
        raise UsageError(f"from={query.date_from} is after until={query.date_until}")
    if source.kind == "datacite" and query.params:
        raise UsageError("parameter filters (param=) need a PaN search source; DataCite metadata has no "
                         "scientific parameters")
    fmt = (one.get("format") or "").strip().lower() or None
    if fmt not in (None, "json", "html"):
        raise UsageError("format= must be json or html")
    normal = [("q", text)] if text else []
    normal += [("source", source.name)]
    normal += [(k, v) for k, v in (("facility", query.facility), ("technique", query.technique)) if v]
    normal += [("param", p.text()) for p in query.params]
    normal += [(k, v) for k, v in (("from", query.date_from), ("until", query.date_until), ("client", client),
                                   ("provider", provider), ("type", rtype)) if v]
    normal += [("limit", str(limit))]
    given = bool(text or params or any(one.get(k, "").strip() for k in KNOWN if k not in ("format",)))
    asked = Asked(source, query, limit, fmt=fmt, params=normal, given=given)
    if one.get("cursor", "").strip():
        asked.position = decode_cursor(one["cursor"].strip(), asked.fingerprint())
    return asked


async def _panosc_page(http: Http, asked: Asked) -> tuple[list[Hit], dict[str, Any] | None]:
    skip = asked.position.get("k", 0)
    flt = panosc.build_filter(asked.query, skip=skip, limit=asked.limit)
    endpoint = asked.source.endpoint
    body, final = await fetch_page(http, endpoint + "/Documents",
                                   params={"filter": json.dumps(flt, separators=(",", ":"))},
                                   accept="application/json", what="PaN search", expect="PaN search API JSON")
    data = loads_json(body, final, "PaN search answer")
    hits = panosc.parse_documents(data, asked.query, endpoint=endpoint)
    count = len(data) if isinstance(data, list) else 0
    ids = [d.get("pid") for d in data if isinstance(d, dict)] if isinstance(data, list) else []
    seen = hashlib.sha256(json.dumps(ids, default=str).encode()).hexdigest()[:16]
    if ids and asked.position.get("p") == seen:  # as the CLI: an API that ignores skip is stopped, not looped
        raise RepositoryError(f"the PaN search API at {endpoint} answered the same page again (it ignores 'skip')")
    return hits[:asked.limit], ({"k": skip + count, "p": seen} if count >= asked.limit else None)


async def _datacite_page(http: Http, asked: Asked) -> tuple[list[Hit], dict[str, Any] | None]:
    params = datacite.build_params(asked.query, page_size=asked.limit)
    numbered = "page[number]" in params
    number = asked.position.get("n", 1)
    if numbered:
        params["page[number]"] = str(number)
    else:
        params["page[cursor]"] = asked.position.get("c", "1")
    body, final = await fetch_page(http, asked.source.endpoint + "/dois", params=params,
                                   accept="application/vnd.api+json", what="DataCite search",
                                   expect="DataCite JSON:API")
    hits, nxt, _total = datacite.parse_page(loads_json(body, final, "DataCite search answer"))
    if not hits or not nxt:
        return hits[:asked.limit], None
    if numbered:  # DataCite numbers pages only up to its first 10,000 records
        more = (number + 1) * asked.limit <= datacite.NUMBER_PAGING_MAX
        return hits[:asked.limit], ({"n": number + 1} if more else None)
    try:
        cursor = parse_qs(urlsplit(nxt[:4000]).query).get("page[cursor]", [""])[0]
    except ValueError:
        cursor = ""
    ok = 0 < len(cursor) <= 2000 and cursor.isascii() and cursor.isprintable() and cursor != params["page[cursor]"]
    return hits[:asked.limit], ({"c": cursor} if ok else None)


class SearchService:
    """Per-process search state: the configured sources, the in-flight cap and the short cache."""

    def __init__(self, sources: Sequence[str], *, clock: Any = time.monotonic) -> None:
        self.sources = parse_sources(sources)
        self.inflight = 0
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, Any], int]] = OrderedDict()
        self._cached_bytes = 0

    def _cached(self, key: str) -> dict[str, Any] | None:
        found = self._cache.get(key)
        if found is None:
            return None
        if self._clock() - found[0] > CACHE_TTL:
            self._forget(key)
            return None
        self._cache.move_to_end(key)
        return found[1]

    def _forget(self, key: str) -> None:
        entry = self._cache.pop(key, None)
        if entry is not None:
            self._cached_bytes -= entry[2]

    def _remember(self, key: str, body: dict[str, Any]) -> None:
        """Keep ``body`` for :data:`CACHE_TTL` s, bounded in entries and in bytes (oldest use goes first)."""
        size = len(json.dumps(body, ensure_ascii=False))
        self._forget(key)
        self._cache[key] = (self._clock(), body, size)
        self._cached_bytes += size
        while self._cache and (len(self._cache) > CACHE_ENTRIES or self._cached_bytes > CACHE_BYTES):
            self._forget(next(iter(self._cache)))

    async def page(self, gw: Gateway, asked: Asked, client: str, root: str) -> tuple[dict[str, Any], bool]:
        """(the JSON answer, whether it came from the cache)."""
        key = asked.fingerprint() + json.dumps(asked.position, sort_keys=True)
        if (found := self._cached(key)) is not None:
            return found, True
        if self.inflight >= MAX_INFLIGHT:
            raise SearchBusy(f"{self.inflight} searches in progress; try again in a few seconds",
                             headers={"Retry-After": "5"})
        try:
            gw.limits.acquire(client)  # a client's searches share its stream slots (429 beyond)
        except TooManyRequests as exc:
            raise TooManyRequests(f"at most {gw.limits.max_streams} concurrent searches and downloads per client",
                                  headers=exc.headers) from None
        self.inflight += 1
        http = Http(gw.client, max_attempts=2, max_wait=5.0, body_limit=gw.config.max_api_body)
        run = _panosc_page if asked.source.kind == "panosc" else _datacite_page
        try:
            async with asyncio.timeout(SEARCH_TIMEOUT):
                hits, position = await run(http, asked)
        except TimeoutError:
            raise SearchTimeout(f"the {asked.source.name} search did not answer within {SEARCH_TIMEOUT:g} s") from None
        except UsageError:
            raise
        except Doi2DataError as exc:
            raise SearchFailed(f"the {asked.source.name} search failed: {exc}") from exc
        finally:
            self.inflight -= 1
            gw.limits.release(client)
        body = {"query": asked.query.text, "source": asked.source.name, "limit": asked.limit,
                "hits": [_hit_json(hit, root) for hit in hits], "next": None, "cursor": None}
        if position is not None:
            cursor = encode_cursor(asked.fingerprint(), position)
            body.update(cursor=cursor, next=f"{root}/search?{urlencode([*asked.params, ('cursor', cursor)])}")
        self._remember(key, body)
        return body, False


def _text(value: str | None) -> str | None:
    """A catalogue's string made encodable: a lone surrogate (JSON's ``"\\ud800"``) becomes U+FFFD, else
    the JSON answer or the page would fail to encode (a 500 for everyone whose search finds that record)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _hit_json(hit: Hit, root: str) -> dict[str, Any]:
    doi = _text(hit.doi)
    url = None
    if doi:
        from .dataset import _identifier

        try:
            url = root + dataset_path(_identifier(doi))
        except (Doi2DataError, ValueError):  # not an identifier the gateway serves: listed, not linked
            url = None
    return {"doi": doi, "title": _text(hit.title), "facility": _text(hit.facility), "year": hit.year,
            "size": hit.size, "url": url, "source": hit.source, "id": _text(hit.id),
            "techniques": [_text(t) for t in hit.techniques[:MAX_TECHNIQUES]],
            "landing_url": safe_href(_text(hit.url)) if hit.url and len(hit.url) <= 2000 else None}


def _wants_html(accept: str | None, fmt: str | None) -> bool:
    if fmt:
        return fmt == "html"
    try:
        name = negotiate(accept).name
    except NotAcceptable:
        raise NotAcceptable(f"cannot answer {accept!r}; /search offers application/json and text/html") from None
    if name not in ("json", "html"):
        raise NotAcceptable(f"cannot answer {accept!r}; /search offers application/json and text/html")
    return name == "html"


async def search_endpoint(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    service: SearchService = request.app.state.search
    base = gw.base(request)
    root = root_of(base)
    items = request.query_params.multi_items()
    html = False
    asked: Asked | None = None
    try:
        fmt = request.query_params.get("format", "").strip().lower()
        html = _wants_html(request.headers.get("accept"), fmt if fmt in ("json", "html") else None)
        client = gw.client_of(request.scope)
        gw.limits.admit(client)
        check_query(request.scope.get("query_string", b""), items, max_bytes=gw.config.max_query_bytes,
                    max_params=gw.config.max_query_params)
        asked = parse_request(items, service.sources)
        if html and not asked.given:
            return _page(base, service, asked, None, None, 200)
        body, hit = await service.page(gw, asked, client, root)
        request.state.kind = "search"
        request.state.cache = "hit" if hit else "miss"
        headers = {"Cache-Control": f"public, max-age={int(CACHE_TTL)}", "Vary": "Accept",
                   "X-Cache": "hit" if hit else "miss"}
        if html:
            return _page(base, service, asked, body, None, 200, headers)
        return JSONResponse(body, headers=headers)
    except Doi2DataError as exc:
        if html:
            return _page(base, service, asked, None, str(exc), exc.http_status, getattr(exc, "headers", None) or {},
                         raw=items)
        return from_error(exc, request.url.path)
    except Exception as exc:  # a bug below: a problem+json, and the traceback in the log
        log.error("unhandled error in /search", exc_info=exc)
        request.state.error = f"{type(exc).__name__}: {exc}"
        return problem(500, "Internal server error", f"the gateway failed ({type(exc).__name__}); see its log",
                       instance=request.url.path)


def _form_values(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What the form shows again: single fields by name, ``param`` as a list."""
    values: dict[str, Any] = {"param": []}
    for key, value in pairs:
        if key == "param":
            values["param"].append(value)
        elif key in KNOWN:
            values.setdefault(key, value)
    return values


def cli_command(asked: Asked) -> str:
    """The terminal equivalent of a search, for the page: ``doi2data search … --format dois | doi2data get …``."""
    import shlex

    q, src = asked.query, asked.source
    args = ["doi2data", "search", *([q.text] if q.text else []), "--source", src.kind]
    default = panosc.DEFAULT_ENDPOINT if src.kind == "panosc" else datacite.DEFAULT_ENDPOINT
    if src.endpoint.rstrip("/") != default:
        args += ["--endpoint", src.endpoint]
    for flag, value in (("--facility", q.facility), ("--technique", q.technique), ("--from", q.date_from),
                        ("--until", q.date_until), ("--client", q.client), ("--provider", q.provider)):
        if value:
            args += [flag, value]
    for p in q.params:
        args += ["--param", p.text()]
    if src.kind == "datacite" and q.resource_type != "dataset":
        args += ["--type", q.resource_type or "any"]
    return " ".join(map(shlex.quote, args)) + " --format dois | doi2data get --from - data/"


def _page(base: str, service: SearchService, asked: Asked | None, body: dict[str, Any] | None, error: str | None,
          status: int, headers: dict[str, str] | None = None, raw: Sequence[tuple[str, str]] = ()) -> Response:
    values = _form_values(asked.params if asked is not None else raw)
    json_href = command = None
    if asked is not None and body is not None:
        position = [("cursor", encode_cursor(asked.fingerprint(), asked.position))] if asked.position else []
        json_href = f"{base}/search?{urlencode([*asked.params, *position, ('format', 'json')])}"
        command = cli_command(asked)
    html = render_search(base, sources=list(service.sources), values=values, result=body, error=error,
                         json_href=json_href, command=command)
    return Response(html, status_code=status, media_type="text/html; charset=utf-8",
                    headers={**(headers or {}), **PAGE_HEADERS, "Vary": "Accept"})


__all__ = ["CACHE_TTL", "DEFAULT_LIMIT", "MAX_LIMIT", "SearchService", "Source", "decode_cursor", "encode_cursor",
           "parse_request", "parse_sources", "search_endpoint"]
