"""FAIR Signposting: the files of a landing page from its typed links.

* **Level 1**: ``Link`` response headers (RFC 8288) on the landing page, and the same relations as
  HTML ``<link>`` elements: ``item`` (a content file, with ``type``), ``describedby`` (metadata),
  ``cite-as`` (the PID), ``license``, ``type``, ``author``, ``linkset``.
* **Level 2**: a linkset (RFC 9264) advertised by ``rel="linkset"``, either JSON
  (``application/linkset+json``: ``{"linkset": [{"anchor": …, "item": [{"href", "type"}]}]}``) or
  text (``application/linkset``: Link-header syntax, one link per line). It is fetched only when
  Level 1 lists no ``item`` (one extra request; Zenodo, Dataverse and DSpace put items in Level 1).

Real headers are messy (Dataverse once sent a licence URL without ``<…>``), so parsing is lenient:
every parser returns what it can read and never raises on text; only a JSON document that is not
a linkset at all is a :class:`~doi2data.errors.RepositoryError`. Signposting gives no sizes or
checksums; when the same page's JSON-LD describes the same files, those fill in, otherwise the
transfer engine verifies against the server's ``Digest``/``Repr-Digest`` headers where sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import Doi2DataError, RepositoryError
from ..http import Http, raise_for_status
from ..model import Discovery, FileEntry, Manifest
from .base import LandingPage, NoMatch, RecordRef, Resolved
from .contenturl import generic_dataset, host_of, path_from_url
from .schemaorg import landing_problem, page_files, scan_html

LINKSET_ACCEPT = "application/linkset+json, application/linkset;q=0.9, application/json;q=0.5, text/plain;q=0.3"
MAX_LINKSETS = 2


@dataclass(frozen=True)
class Link:
    """One typed link: target, relation type (one per link; multi-rel links are split) and attributes."""

    href: str
    rel: str
    type: str | None = None
    anchor: str | None = None      # the context; None means "the resource that carried it"
    profile: str | None = None


# -- Link-header syntax (Level 1 headers and the Level 2 text form) ---------------------------------

def _split_values(text: str) -> list[str]:
    """Split on commas outside ``<…>`` and quotes; a new ``<`` after a complete target also splits
    (the linkset text form puts one link per line, commas optional in the wild)."""
    items: list[str] = []
    buf: list[str] = []
    quoted = angled = escaped = False
    has_target = False
    for ch in text:
        if quoted:
            buf.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif angled:
            buf.append(ch)
            if ch == ">":
                angled, has_target = False, True
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == "<":
            if has_target:
                items.append("".join(buf))
                buf, has_target = [], False
            angled = True
            buf.append(ch)
        elif ch == ",":
            items.append("".join(buf))
            buf, has_target = [], False
        else:
            buf.append(ch)
    items.append("".join(buf))
    return [item.strip() for item in items if item.strip()]


def _split_params(text: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    buf: list[str] = []
    quoted = escaped = False
    parts: list[str] = []
    for ch in text:
        if quoted:
            if escaped:
                escaped = False
                buf.append(ch)
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            else:
                buf.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ";":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    for part in parts:
        name, _, value = part.partition("=")
        if name.strip():
            params.append((name.strip().lower(), value.strip()))
    return params


def _join(base: str | None, ref: str) -> str | None:
    ref = ref.strip()
    if not ref:
        return None
    try:
        url = urljoin(base or "", ref)
        urlsplit(url)
    except ValueError:
        return None
    return url if url.lower().startswith(("http://", "https://")) else None


def _links_from_value(value: str, base: str | None) -> list[Link]:
    if value.startswith("<"):
        target, _, rest = value[1:].partition(">")
        rest = rest.lstrip().removeprefix(";")
    else:  # lenient: a bare URL before the first ';' (seen from Dataverse, IQSS/dataverse#9952)
        target, _, rest = value.partition(";")
        if "://" not in target:
            return []
    params: dict[str, str] = {}
    for name, val in _split_params(rest):
        params.setdefault(name, val)  # RFC 8288: later occurrences of rel/anchor/... are ignored
    anchor = _join(base, params["anchor"]) if params.get("anchor") else None
    href = _join(anchor or base, target)
    if href is None:
        return []
    kind = params.get("type") or None
    profile = params.get("profile") or None
    return [Link(href, rel, kind, anchor, profile) for rel in dict.fromkeys(params.get("rel", "").lower().split())]


def parse_link_header(value: str, base: str | None = None) -> list[Link]:
    """All links of a ``Link`` header value (several headers joined with ``,``); relative targets
    are resolved against ``base`` (the URL that sent them). Pure; never raises."""
    links: list[Link] = []
    for item in _split_values(value or ""):
        links.extend(_links_from_value(item, base))
    return links


def parse_linkset_text(text: str, base: str | None = None) -> list[Link]:
    """An ``application/linkset`` document: Link-header syntax, newlines as well as commas between links."""
    return parse_link_header(text, base)


def parse_linkset_json(doc: Any, base: str | None = None) -> list[Link]:
    """An ``application/linkset+json`` document (RFC 9264) -> links with their anchors.

    Non-list members of a context object (InvenioRDM's object-level ``"type": "…"``) are skipped.
    Raises :class:`RepositoryError` when ``doc`` is not ``{"linkset": [...]}``.
    """
    contexts = doc.get("linkset") if isinstance(doc, Mapping) else None
    if not isinstance(contexts, list):
        raise RepositoryError("not a linkset document (no 'linkset' array)")
    links: list[Link] = []
    for context in contexts:
        if not isinstance(context, Mapping):
            continue
        anchor_ref = context.get("anchor")
        anchor = _join(base, anchor_ref) if isinstance(anchor_ref, str) else None
        for rel, targets in context.items():
            if rel == "anchor" or not isinstance(rel, str) or not isinstance(targets, list):
                continue
            for target in targets:
                href = target.get("href") if isinstance(target, Mapping) else None
                url = _join(anchor or base, href) if isinstance(href, str) else None
                if url is None:
                    continue
                kind, profile = target.get("type"), target.get("profile")
                links.append(Link(url, rel.lower(), kind if isinstance(kind, str) and kind else None, anchor,
                                  profile if isinstance(profile, str) and profile else None))
    return links


def parse_html_links(html: str, base: str | None = None) -> list[Link]:
    """Signposting relations from HTML ``<link rel=… href=… type=…>`` elements (pure)."""
    links: list[Link] = []
    for attrs in scan_html(html)[0]:
        href = _join(base, attrs.get("href", ""))
        if href is None:
            continue
        for rel in dict.fromkeys(attrs.get("rel", "").lower().split()):
            links.append(Link(href, rel, attrs.get("type") or None, None, attrs.get("profile") or None))
    return links


# -- what the links say --------------------------------------------------------------------------

@dataclass(frozen=True)
class Signposts:
    """The relations of one landing page that matter for downloading."""

    items: tuple[Link, ...] = ()
    describedby: tuple[Link, ...] = ()
    linksets: tuple[Link, ...] = ()
    cite_as: str | None = None
    license: str | None = None


def _norm(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{(parts.hostname or '').lower()}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}"


def signposts(links: Iterable[Link], contexts: Iterable[str] = ()) -> Signposts:
    """The landing page's signposts: links without an anchor or anchored at one of ``contexts``.

    When no ``item`` is anchored there (a linkset whose anchor is spelt differently), the links of
    every anchor except the per-file ones (anchors that are themselves items) are used.
    """
    links = list(links)
    wanted = {_norm(c) for c in contexts}
    mine = [lk for lk in links if lk.anchor is None or _norm(lk.anchor) in wanted]
    if not any(lk.rel == "item" for lk in mine):
        files = {_norm(lk.href) for lk in links if lk.rel == "item"}
        mine = [lk for lk in links if lk.anchor is None or _norm(lk.anchor) not in files]

    def rel(name: str) -> tuple[Link, ...]:
        first: dict[tuple[str, str | None, str | None], Link] = {}
        for lk in mine:
            if lk.rel == name:
                first.setdefault((lk.href, lk.type, lk.profile), lk)
        return tuple(first.values())

    cite, lic = rel("cite-as"), rel("license")
    return Signposts(items=rel("item"), describedby=rel("describedby"), linksets=rel("linkset"),
                     cite_as=cite[0].href if cite else None, license=lic[0].href if lic else None)


def item_entries(items: Iterable[Link], enrich: Iterable[FileEntry] = ()) -> tuple[FileEntry, ...]:
    """One file per ``item`` link; JSON-LD entries for the same URL or name add name, size, checksums."""
    by_url = {u: e for e in enrich for u in e.urls}
    by_path = {e.path: e for e in enrich}
    out = []
    unique: dict[str, Link] = {}
    for link in items:
        unique.setdefault(link.href, link)
    for link in unique.values():
        path = path_from_url(link.href)
        extra = by_url.get(link.href) or by_path.get(path)
        entry = FileEntry(path=path, urls=(link.href,), media_type=link.type)
        if extra is not None:
            urls = (link.href, *[u for u in extra.urls if u != link.href])
            entry = replace(extra, path=extra.path if link.href in extra.urls else path, urls=urls,
                            media_type=link.type or extra.media_type)
        out.append(entry)
    return tuple(out)


def _linkset_order(link: Link) -> int:
    kind = (link.type or "").lower()
    return 0 if "linkset+json" in kind else 1 if kind == "application/linkset" else 2


async def fetch_linkset(link: Link, http: Http) -> list[Link]:
    """GET a Level 2 linkset and parse it by its media type (JSON, else the text form)."""
    response = await http.request("GET", link.href, headers={"Accept": LINKSET_ACCEPT})
    raise_for_status(response, what="linkset")
    ctype = response.headers.get("content-type", "").lower()
    text = response.text
    base = str(response.url)
    if "json" in ctype or text.lstrip().startswith("{"):
        try:
            return parse_linkset_json(json.loads(text), base)
        except (ValueError, RecursionError):
            if "json" in ctype:
                raise RepositoryError(f"linkset at {base} is not valid JSON", url=base) from None
    return parse_linkset_text(text, base)


def _level1(page: LandingPage) -> list[Link]:
    links = parse_link_header(page.link, page.url)
    if page.text:
        links += parse_html_links(page.text, page.url)
    return links


class SignpostingAdapter:
    """Generic layer: ``item`` links of FAIR Signposting (Level 1 headers/HTML, else a Level 2 linkset)."""

    name = "signposting"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = resolved.landing_url or ""
        if not url.lower().startswith(("http://", "https://")):
            return None
        return RecordRef(adapter=self.name, api_base=url, record_id=url, repository=host_of(url))

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        page = await resolved.landing_page(http)
        if page.error:
            raise NoMatch(landing_problem(page) or page.error)
        contexts = [page.url, resolved.landing_url]
        found = signposts(_level1(page), contexts)
        items, where, notes = found.items, "Level 1 (Link header / HTML <link>)", []
        if not items:
            for link in sorted(found.linksets, key=_linkset_order)[:MAX_LINKSETS]:
                try:
                    linkset = signposts(await fetch_linkset(link, http), contexts + [link.href])
                except Doi2DataError as exc:
                    notes.append(f"linkset {link.href}: {exc}")
                    continue
                if linkset.items:
                    found = replace(linkset, cite_as=linkset.cite_as or found.cite_as,
                                    license=linkset.license or found.license)
                    items, where = linkset.items, f"Level 2 linkset ({link.type or 'untyped'})"
                    break
                notes.append(f"linkset {link.href} lists no item")
        if not items:
            what = "no 'item' link in the Link header or HTML"
            what += ", no linkset" if not found.linksets else f"; {'; '.join(notes)}"
            raise NoMatch(what)
        enrich, page_ds = page_files(page) if page.text else ([], None)
        files = item_entries(items, enrich)
        dataset = generic_dataset(resolved, page_ds)
        if found.license and not dataset.license:
            dataset = replace(dataset, license=found.license)
        warnings = []
        if any(f.size is None for f in files):
            warnings.append("some file sizes are unknown: Signposting gives only links and media types")
        reason = f"{len(files)} 'item' link(s) in {where}"
        manifest = Manifest(dataset, files, tuple(warnings))
        return replace(manifest, discovery=Discovery(layer="signposting", adapter=self.name, reason=reason))


ADAPTER = SignpostingAdapter()

__all__ = ["ADAPTER", "LINKSET_ACCEPT", "Link", "SignpostingAdapter", "Signposts", "fetch_linkset", "item_entries",
           "parse_html_links", "parse_link_header", "parse_linkset_json", "parse_linkset_text", "signposts"]
