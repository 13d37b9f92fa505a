"""``doi2data search``: find dataset DOIs in the PaN search API, DataCite, or an OAI-PMH provider.

:func:`search` is the one entry point: it opens the project's HTTP stack (:mod:`doi2data.http`:
proxies, CA, bounded bodies, retries on 429/5xx honouring ``Retry-After``, per-host pacing) and
yields :class:`~doi2data.search.common.Hit` records as the pages arrive. Nothing accumulates:
the caller prints each hit and forgets it, so a 100,000-record harvest runs in the memory of one page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from ..errors import UsageError
from ..http import Credentials, Http, make_client
from . import datacite, oai, panosc
from .common import Hit, PageCallback, ParamFilter, SearchQuery, parse_date, parse_param

SOURCES = ("panosc", "datacite", "oai")


async def search(source: str, query: SearchQuery, *, endpoint: str | None = None, tokens: Sequence[str] = (),
                 rates: Mapping[str, tuple[object, ...]] | None = None, on_page: PageCallback | None = None,
                 stats: oai.HarvestStats | None = None) -> AsyncIterator[Hit]:
    """Hits of ``query`` at ``source`` (``endpoint``: the API base, or the OAI-PMH base URL)."""
    if source not in SOURCES:
        raise UsageError(f"unknown search source {source!r}; choose one of: {', '.join(SOURCES)}")
    if source == "oai" and not endpoint:
        raise UsageError("--source oai needs the provider's base URL: --oai URL")
    from ..transfer.limits import DEFAULT_RATES, HostLimiter

    limiter = HostLimiter(per_host=1, rates=dict(DEFAULT_RATES if rates is None else rates))  # type: ignore[arg-type]
    async with make_client() as client:
        http = Http(client, credentials=Credentials.parse(tokens), pace=limiter.token)
        if source == "panosc":
            hits = panosc.iter_hits(http, query, endpoint=endpoint or panosc.DEFAULT_ENDPOINT, on_page=on_page)
        elif source == "datacite":
            hits = datacite.iter_hits(http, query, endpoint=endpoint or datacite.DEFAULT_ENDPOINT, on_page=on_page)
        else:
            hits = oai.iter_hits(http, query, base=endpoint or "", on_page=on_page, stats=stats)
        try:
            async for hit in hits:
                yield hit
        finally:
            await hits.aclose()


async def oai_sets(base: str, *, tokens: Sequence[str] = ()) -> AsyncIterator[tuple[str, str]]:
    """``(setSpec, setName)`` of an OAI-PMH provider (``ListSets``, all pages)."""
    async with make_client() as client:
        http = Http(client, credentials=Credentials.parse(tokens))
        async for item in oai.list_sets(http, base):
            yield item


__all__ = ["SOURCES", "Hit", "ParamFilter", "SearchQuery", "oai_sets", "parse_date", "parse_param", "search"]
