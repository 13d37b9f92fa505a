"""Citations through DOI content negotiation: ``GET https://doi.org/<doi>`` with an ``Accept`` header.

Why negotiate instead of formatting locally: the registration agency (DataCite, Crossref,
mEDRA) owns the metadata and its citation styles; doi.org redirects a negotiated request to
the agency's service (``data.crosscite.org`` / ``api.datacite.org`` / ``api.crossref.org``), so
one request path works for every DOI, and the text is exactly what other tools (Zotero, curl -LH)
get. The request goes through the project's HTTP stack (:mod:`doi2data.http`): same proxy, CA,
User-Agent and retries as everything else.

Formats (``--format``)::

    bibtex  application/x-bibtex
    ris     application/x-research-info-systems
    csl     application/vnd.citationstyles.csl+json   (pretty-printed)
    text    text/x-bibliography; style=apa; locale=en-US
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .api import _run
from .errors import IdentifierNotFound, RepositoryError, UsageError
from .http import Credentials, Http, make_client, raise_for_status
from .identifiers import parse_identifier

#: ``--format`` name -> media type asked for.
MEDIA_TYPES: dict[str, str] = {
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csl": "application/vnd.citationstyles.csl+json",
    "text": "text/x-bibliography",
}
RESOLVER = "https://doi.org"


def accept_header(fmt: str, *, style: str = "apa", locale: str = "en-US") -> str:
    """The ``Accept`` value for a format name (``text`` carries ``style`` and ``locale``)."""
    try:
        media = MEDIA_TYPES[fmt.strip().lower()]
    except KeyError:
        raise UsageError(f"unknown citation format {fmt!r}; choose one of: {', '.join(MEDIA_TYPES)}") from None
    if media == "text/x-bibliography":
        for name, value in (("style", style), ("locale", locale)):
            if not value or any(c in value for c in ' ;,"'):
                raise UsageError(f"bad {name} {value!r}")
        return f"{media}; style={style}; locale={locale}"
    return media


async def _doi_for(identifier: str, http: Http) -> str:
    """A DOI as is; a landing URL or handle is resolved to its dataset's DOI first."""
    ident = parse_identifier(identifier)
    if ident.is_doi:
        return ident.value
    from .resolver import build_manifest

    manifest = await build_manifest(ident, http)
    if not manifest.dataset.doi:
        raise UsageError(f"{identifier} has no DOI to cite")
    return manifest.dataset.doi


async def acite(identifier: str, fmt: str = "bibtex", *, style: str = "apa", locale: str = "en-US",
                tokens: Sequence[str] = (), resolver: str = RESOLVER) -> str:
    """Async :func:`cite`."""
    accept = accept_header(fmt, style=style, locale=locale)
    async with make_client() as client:
        http = Http(client, credentials=Credentials.parse(tokens))
        doi = await _doi_for(identifier, http)
        response = await http.request("GET", f"{resolver.rstrip('/')}/{doi}", headers={"Accept": accept})
        if response.status_code == 404:
            raise IdentifierNotFound(f"DOI not found: {doi}", identifier=doi, url=str(response.url))
        if response.status_code == 400 and accept.startswith("text/x-bibliography"):
            raise UsageError(f"the citation service refused style {style!r} / locale {locale!r}: "
                             f"{response.text.strip()[:200]}")
        raise_for_status(response, not_found=IdentifierNotFound, what="citation")
        got = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if got in ("text/html", "application/xhtml+xml"):  # fell through to the landing page
            raise RepositoryError(f"no {fmt} citation for {doi}: its registration agency does not negotiate "
                                  f"{accept.split(';')[0]}", url=str(response.url))
    body = response.content.decode("utf-8", errors="replace")
    if accept == MEDIA_TYPES["csl"]:
        try:
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
        except json.JSONDecodeError as exc:
            raise RepositoryError(f"CSL JSON for {doi} is not valid JSON", url=str(response.url)) from exc
    body = body.replace("\r\n", "\n")
    return body if body.endswith("\n") else body + "\n"


def cite(identifier: str, fmt: str = "bibtex", *, style: str = "apa", locale: str = "en-US",
         tokens: Sequence[str] = (), resolver: str = RESOLVER) -> str:
    """Citation text for a DOI (or a landing URL / handle of a dataset with a DOI).

    ``fmt`` is ``bibtex``, ``ris``, ``csl`` or ``text``; ``style`` and ``locale`` apply to
    ``text`` (CSL style names such as ``apa``, ``ieee``). Raises
    :class:`~doi2data.errors.IdentifierNotFound` for an unknown DOI and
    :class:`~doi2data.errors.RepositoryError` when the agency cannot negotiate the format.
    """
    return _run(acite(identifier, fmt, style=style, locale=locale, tokens=tokens, resolver=resolver))


__all__ = ["MEDIA_TYPES", "accept_header", "acite", "cite"]
