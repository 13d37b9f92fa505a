"""Detection in layers: which adapter lists the files behind a resolved identifier, cheapest first.

The DOI has already been resolved once (Handle API + DataCite, concurrently: 2 requests). Then:

====================  ========  ==================================================================
layer                 requests  what it looks at
====================  ========  ==================================================================
doi-prefix            0         each adapter's ``recognize`` on the DOI alone (``10.5281/zenodo.N``)
landing-url           0         each adapter's ``recognize`` on the landing URL (host tables, shapes)
registration-agency   1         only when DataCite has no record: ``doi.org/ra/<prefix>``; Crossref
                                (or a publisher's landing page) -> :class:`~doi2data.errors.NotADataset`
datacite-client       0         the DataCite client id / publisher (``cern.zenodo``, ``gdcc.harvard-dv``)
api-probe             1-2       hosts no table knows: Dataverse ``/api/info/version``, then
                                InvenioRDM ``/api/records/<id>``
signposting           1 (+1)    the landing page's ``Link`` header / ``<link>`` items; else one linkset
schema.org            0         JSON-LD ``distribution`` in the same landing page (fetched once)
datacite-contentUrl   0         ``contentUrl`` of the DataCite record
directory-listing     1+        the landing page is a web folder: ``PROPFIND`` (Depth 1) first where
                                it may speak WebDAV, else its HTML index (nginx, Apache, lighttpd,
                                IIS, Python ``http.server``, Caddy), crawled below it within limits
====================  ========  ==================================================================

The client-id layer costs nothing (the DataCite record is already here), so it runs before the
probe, which costs requests to a host we know nothing about; probing comes last among the specific
layers (``shared/research/anchors-style.md`` §5.2). The last four layers are generic adapters
(:mod:`~doi2data.adapters.signposting`, :mod:`~doi2data.adapters.schemaorg`,
:mod:`~doi2data.adapters.contenturl`, :mod:`~doi2data.adapters.webindex`); the directory listing
comes last because it is the least specific (a folder of files, no metadata) and may cost a request
per sub-folder (bounded by ``--max-depth/--max-pages/--max-entries``). One that finds nothing raises
:class:`~doi2data.adapters.base.NoMatch` and the next is tried. When nothing matches,
:class:`~doi2data.errors.UnsupportedRepository` names every layer and why it failed. The manifest
(and any error raised here) carries a :class:`~doi2data.model.Discovery` for ``--explain``.

A requested dataset version (``--version``) is put on the matched :class:`RecordRef` (``version``)
before listing; adapters that honour versions say so with ``supports_versions = True``. Any other
adapter, and every generic layer, refuses it with :class:`~doi2data.errors.VersionNotSupported`
(exit 2) rather than silently listing the latest files.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from .adapters import KNOWN_ADAPTERS, find_adapter, load
from .adapters.base import Adapter, NoMatch, RecordRef, Resolved, origin_of
from .errors import Doi2DataError, NotADataset, UnsupportedRepository, VersionNotSupported
from .http import Http
from .model import Discovery, LayerAttempt, Manifest

RA_URL = "https://doi.org/ra"
GENERIC_LAYERS: tuple[tuple[str, str], ...] = (
    ("signposting", "doi2data.adapters.signposting:ADAPTER"),
    ("schema.org", "doi2data.adapters.schemaorg:ADAPTER"),
    ("datacite-contentUrl", "doi2data.adapters.contenturl:ADAPTER"),
    ("directory-listing", "doi2data.adapters.webindex:LAYER"),
)
#: DataCite client id -> (adapter, API base, display name). Client ids from the recorded DataCite answers.
DATACITE_CLIENTS: dict[str, tuple[str, str, str]] = {
    "cern.zenodo": ("invenio", "https://zenodo.org", "Zenodo"),
    "gdcc.harvard-dv": ("dataverse", "https://dataverse.harvard.edu", "Harvard Dataverse"),
    "figshare.ars": ("figshare", "https://api.figshare.com", "Figshare"),
    "delft.data4tu": ("figshare", "https://data.4tu.nl", "4TU.ResearchData"),
    "dryad.dryad": ("dryad", "https://datadryad.org", "Dryad"),
}
#: DataCite publisher (or client name), lower case -> client id above.
PUBLISHERS: dict[str, str] = {
    "zenodo": "cern.zenodo", "harvard dataverse": "gdcc.harvard-dv", "figshare": "figshare.ars",
    "figshare academic research system": "figshare.ars", "dryad": "dryad.dryad",
    "4tu.researchdata": "delft.data4tu",
}
#: Landing hosts of publishers (article pages): never probed; with no DataCite record -> NotADataset.
PUBLISHER_HOSTS = frozenset("""onlinelibrary.wiley.com doi.wiley.com link.springer.com www.sciencedirect.com
    linkinghub.elsevier.com www.cell.com www.thelancet.com www.nature.com journals.plos.org academic.oup.com
    www.tandfonline.com journals.sagepub.com pubs.acs.org pubs.rsc.org iopscience.iop.org journals.aps.org
    link.aps.org www.mdpi.com www.pnas.org www.science.org ieeexplore.ieee.org dl.acm.org www.cambridge.org
    www.frontiersin.org www.jstor.org journals.iucr.org onlinelibrary.iucr.org pubs.aip.org aip.scitation.org
    elifesciences.org www.biorxiv.org www.medrxiv.org peerj.com www.bmj.com www.annualreviews.org
    journals.asm.org www.embopress.org www.degruyter.com www.worldscientific.com www.hindawi.com
    bmcbioinformatics.biomedcentral.com""".split())
#: Repository hosts every table already knows (besides the adapters' own tables): never probed.
_OTHER_KNOWN_HOSTS = frozenset("""figshare.com api.figshare.com data.4tu.nl datadryad.org osf.io api.osf.io
    b2share.eudat.eu doi.org dx.doi.org hdl.handle.net""".split())
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DOI_RECORD_ID = re.compile(r"(?:zenodo\.|[./])(\d{1,12}|[0-9a-z]{5}-[0-9a-z]{5})$", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    """A layer's answer: which adapter, for which record, and why."""

    layer: str
    adapter: Adapter
    ref: RecordRef
    reason: str


# -- pure helpers -----------------------------------------------------------------------------------

def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_publisher_host(host: str) -> bool:
    host = host.lower()
    return any(host == h or host.endswith("." + h) for h in PUBLISHER_HOSTS)


def known_hosts() -> frozenset[str]:
    """Landing hosts some adapter's table names (probing them would teach nothing)."""
    hosts = set(_OTHER_KNOWN_HOSTS)
    for name in KNOWN_ADAPTERS:
        try:
            module = importlib.import_module(type(load(name)).__module__)
        except Exception:  # noqa: BLE001 - a broken optional adapter must not break detection
            continue
        for attr in ("ZENODO_HOSTS", "KNOWN_HOSTS"):
            table = getattr(module, attr, ())
            hosts.update(h for h in table if isinstance(h, str))
    return frozenset(hosts)


def parse_ra(body: Any) -> str | None:
    """``[{"DOI": "10.1371", "RA": "Crossref"}]`` -> ``"Crossref"``; ``None`` when it does not say."""
    first = body[0] if isinstance(body, list) and body else None
    ra = first.get("RA") if isinstance(first, dict) else None
    return ra.strip() if isinstance(ra, str) and ra.strip() else None


def client_route(client_id: str | None, publisher: str | None, client_name: str | None
                 ) -> tuple[str, str | None, str | None, str] | None:
    """(adapter, API base or None for "the landing host", display name, why) from DataCite hints (pure)."""
    cid = (client_id or "").strip().lower()
    if cid in DATACITE_CLIENTS:
        adapter, base, display = DATACITE_CLIENTS[cid]
        return adapter, base, display, f"DataCite client {cid} is {display}"
    for name in (publisher, client_name):
        key = " ".join((name or "").lower().split())
        if key in PUBLISHERS:
            adapter, base, display = DATACITE_CLIENTS[PUBLISHERS[key]]
            return adapter, base, display, f"DataCite publisher {name!r} is {display}"
    if cid.endswith("-dv") or "dataverse" in cid:
        return "dataverse", None, None, f"DataCite client {cid} is a Dataverse installation"
    for name in (publisher, client_name):
        if name and "dataverse" in name.lower():
            return "dataverse", None, name, f"DataCite publisher {name!r} is a Dataverse installation"
    return None


def ref_for(adapter: str, base: str | None, display: str | None, resolved: Resolved) -> RecordRef | None:
    """A :class:`RecordRef` for ``adapter`` at ``base`` (None: the landing host) from the DOI (pure)."""
    base = base or origin_of(resolved.landing_url)
    doi = (resolved.doi or "").strip()
    if base is None or not doi:
        return None
    display = display or _host(base)
    if adapter in ("dataverse", "figshare"):
        return RecordRef(adapter, base, f"doi:{doi}", display)
    if adapter == "dryad":
        return RecordRef(adapter, base, doi.lower(), display)
    if adapter == "invenio" and (match := _DOI_RECORD_ID.search(doi)):
        return RecordRef(adapter, base, match.group(1), display)
    return None


def _record_id_candidate(url: str) -> str | None:
    try:
        segs = [s for s in urlsplit(url).path.split("/") if s]
    except ValueError:
        return None
    for i, seg in enumerate(segs[:-1]):
        if seg in ("records", "record", "uploads") and _ID.match(segs[i + 1]):
            return segs[i + 1]
    return segs[-1] if segs and _ID.match(segs[-1]) else None


# -- the layers -----------------------------------------------------------------------------------

def _recognize(resolved: Resolved, attempts: list[LayerAttempt]) -> Match | None:
    """Layers 1-2 (pure): every registered adapter's ``recognize``, in registry order."""
    try:
        adapter, ref = find_adapter(resolved)
    except UnsupportedRepository:
        prefix = (resolved.doi or "").split("/", 1)[0]
        attempts.append(LayerAttempt("doi-prefix", False, f"no adapter knows the prefix {prefix}" if prefix
                                     else "skipped: the identifier is not a DOI"))
        attempts.append(LayerAttempt("landing-url", False, f"no adapter recognises {resolved.landing_url}"))
        return None
    try:
        by_doi = adapter.recognize(replace(resolved, landing_url="")) if resolved.doi else None
    except Exception:  # noqa: BLE001 - only classifies the match for --explain
        by_doi = None
    if by_doi is not None and by_doi == ref:
        reason = f"{adapter.name} recognises the DOI {resolved.doi} (record {ref.record_id} at {ref.api_base})"
        attempts.append(LayerAttempt("doi-prefix", True, reason))
        return Match("doi-prefix", adapter, ref, reason)
    if resolved.doi:
        attempts.append(LayerAttempt("doi-prefix", False, "the DOI alone does not decide"))
    reason = f"{adapter.name} recognises the landing URL {resolved.landing_url} (record {ref.record_id})"
    attempts.append(LayerAttempt("landing-url", True, reason))
    return Match("landing-url", adapter, ref, reason)


async def registration_agency(doi: str, http: Http) -> str | None:
    """The registration agency of ``doi``'s prefix from ``doi.org/ra/<prefix>`` (None if unknown)."""
    prefix = doi.split("/", 1)[0]
    try:
        response = await http.request("GET", f"{RA_URL}/{quote(prefix, safe='')}",
                                      headers={"Accept": "application/json"})
        body = response.json() if response.status_code == 200 else None
    except (Doi2DataError, ValueError, RecursionError):  # RecursionError: JSON nested past the C parser's depth
        return None
    return parse_ra(body)


async def _check_agency(resolved: Resolved, http: Http, attempts: list[LayerAttempt]) -> None:
    """No DataCite record: ask doi.org which agency registered the prefix; refuse article DOIs."""
    doi = resolved.doi or ""
    before = http.requests
    ra = await registration_agency(doi, http)
    used = http.requests - before
    host = _host(resolved.landing_url)
    if ra and ra.lower() == "crossref":
        attempts.append(LayerAttempt("registration-agency", False, "doi.org/ra says Crossref", used))
        raise NotADataset(
            f"{doi} is a Crossref DOI, registered for an article or other publication, not a dataset "
            f"(it points at {host or resolved.landing_url}); look in the article for the DOI of its data "
            "(data availability statement), or pass a dataset landing-page URL instead",
            identifier=resolved.identifier, url=resolved.landing_url)
    if is_publisher_host(host) and (ra or "").lower() != "datacite":
        attempts.append(LayerAttempt("registration-agency", False,
                                     f"no DataCite record; registered with {ra or 'an unknown agency'}", used))
        raise NotADataset(
            f"{doi} has no DataCite record and points at the publisher site {host}: an article DOI "
            "(registered with Crossref or another agency), not a dataset; look in the article for the DOI of its data",
            identifier=resolved.identifier, url=resolved.landing_url)
    attempts.append(LayerAttempt("registration-agency", False,
                                 f"no DataCite record; doi.org/ra says {ra or 'nothing'}", used))


def _by_client(resolved: Resolved, attempts: list[LayerAttempt]) -> Match | None:
    meta = resolved.metadata
    if meta is None and not resolved.client_id:
        attempts.append(LayerAttempt("datacite-client", False, "no DataCite record"))
        return None
    route = client_route(resolved.client_id, meta.publisher if meta else None, meta.repository if meta else None)
    if route is None:
        who = resolved.client_id or "(none)"
        attempts.append(LayerAttempt("datacite-client", False, f"client {who}, publisher "
                                     f"{(meta.publisher if meta else None)!r}: in no table"))
        return None
    name, base, display, why = route
    ref = ref_for(name, base, display, resolved) if name in KNOWN_ADAPTERS else None
    if ref is None:
        attempts.append(LayerAttempt("datacite-client", False, f"{why}, but no {name} record id follows from it"))
        return None
    reason = f"{why} -> {name} record {ref.record_id} at {ref.api_base}"
    attempts.append(LayerAttempt("datacite-client", True, reason))
    return Match("datacite-client", load(name), ref, reason)


async def _probe_dataverse(base: str, resolved: Resolved, http: Http) -> tuple[RecordRef | None, str]:
    url = f"{base}/api/info/version"
    try:
        response = await http.request("GET", url, headers={"Accept": "application/json"})
    except Doi2DataError as exc:
        return None, f"not Dataverse (/api/info/version: {exc})"
    try:
        doc = response.json() if response.status_code == 200 else None
    except (ValueError, RecursionError):
        doc = None
    data = doc.get("data") if isinstance(doc, dict) else None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(doc, dict) or not isinstance(version, str) or doc.get("status") not in ("OK", None):
        return None, f"not Dataverse (/api/info/version: HTTP {response.status_code})"
    ident = resolved.identifier
    pid = f"doi:{resolved.doi}" if resolved.doi else ident if ident.startswith("hdl:") else None
    if pid is None:
        return None, f"Dataverse {version} at {base}, but no persistent identifier to ask it for"
    return RecordRef("dataverse", base, pid, _host(base)), f"Dataverse {version} answers {url}"


async def _probe_invenio(base: str, resolved: Resolved, http: Http) -> tuple[RecordRef | None, str]:
    rid = _record_id_candidate(resolved.landing_url)
    if rid is None:
        return None, "not probed for InvenioRDM (no record id in the landing URL)"
    url = f"{base}/api/records/{quote(rid, safe='')}"
    try:
        response = await http.request("GET", url, headers={"Accept": "application/json"})
    except Doi2DataError as exc:
        return None, f"not InvenioRDM (/api/records/{rid}: {exc})"
    try:
        doc = response.json() if response.status_code == 200 else None
    except (ValueError, RecursionError):
        doc = None
    if not (isinstance(doc, dict) and isinstance(doc.get("metadata"), dict)):
        return None, f"not InvenioRDM (/api/records/{rid}: HTTP {response.status_code}" + \
            (", not record JSON)" if response.status_code == 200 else ")")
    return RecordRef("invenio", base, rid, _host(base)), f"InvenioRDM record JSON at {url}"


async def _probe(resolved: Resolved, http: Http, attempts: list[LayerAttempt]) -> Match | None:
    base, host = origin_of(resolved.landing_url), _host(resolved.landing_url)
    if base is None:
        attempts.append(LayerAttempt("api-probe", False, "skipped: the landing URL is not http(s)"))
        return None
    if host in known_hosts() or is_publisher_host(host):
        attempts.append(LayerAttempt("api-probe", False, f"skipped: {host} is a known host"))
        return None
    before, details = http.requests, []
    for kind, probe in (("dataverse", _probe_dataverse), ("invenio", _probe_invenio)):
        if kind not in KNOWN_ADAPTERS:
            continue
        ref, detail = await probe(base, resolved, http)
        details.append(detail)
        if ref is not None:
            attempts.append(LayerAttempt("api-probe", True, detail, http.requests - before))
            return Match("api-probe", load(kind), ref, detail)
    attempts.append(LayerAttempt("api-probe", False, "; ".join(details), http.requests - before))
    return None


# -- orchestration --------------------------------------------------------------------------------

def pin_version(adapter: Adapter, ref: RecordRef, version: str | None) -> RecordRef:
    """``ref`` with the requested ``version``; :class:`VersionNotSupported` if the adapter has none."""
    if version is None:
        return ref
    if not getattr(adapter, "supports_versions", False):
        raise VersionNotSupported(
            f"--version {version}: {ref.repository} (adapter {adapter.name}) has no dataset versions doi2data can "
            "choose; drop --version, or pass the DOI of the version you want")
    return replace(ref, version=version)


def _load_generic(target: str) -> Adapter:
    module, _, attr = target.partition(":")
    adapter: Adapter = getattr(importlib.import_module(module), attr)
    return adapter


class _Meter:
    """Request counts and the route (``METHOD url`` list) since resolution began."""

    def __init__(self, http: Http, start: int, route_start: int, resolve_requests: int) -> None:
        self.http, self.start, self.route_start, self.resolve = http, start, route_start, resolve_requests
        self.detect_start = http.requests
        self.trace_start = len(getattr(http, "trace", []))
        self.list_start: int | None = None

    def discovery(self, match_layer: str | None, adapter: str | None, reason: str, resolved: Resolved,
                  attempts: Sequence[LayerAttempt]) -> Discovery:
        now = self.http.requests
        list_start = self.list_start if self.list_start is not None else now
        return Discovery(layer=match_layer, adapter=adapter, reason=reason, landing_url=resolved.landing_url,
                         attempts=tuple(attempts), route=tuple(self.http.history[self.route_start:]),
                         requests=now - self.start, resolve_requests=self.resolve,
                         detect_requests=list_start - self.detect_start, list_requests=now - list_start,
                         notes=tuple(getattr(self.http, "trace", [])[self.trace_start:]))


def _attach(exc: Doi2DataError, discovery: Discovery) -> None:
    if getattr(exc, "discovery", None) is None:
        exc.discovery = discovery  # type: ignore[attr-defined]


async def discover(resolved: Resolved, http: Http, *, start: int = 0, route_start: int = 0,
                   resolve_requests: int = 0, version: str | None = None) -> Manifest:
    """Run the layers for ``resolved`` and list the files with the first adapter that matches.

    ``start``/``route_start`` are ``http.requests``/``len(http.history)`` before resolution began, so
    the :class:`Discovery` counts the resolver's requests too. ``version``: the dataset version to
    list (``None``: the adapter's default, the latest published).
    """
    meter = _Meter(http, start, route_start, resolve_requests)
    attempts: list[LayerAttempt] = []
    try:
        match = _recognize(resolved, attempts)
        if match is None and resolved.doi and resolved.metadata is None:
            await _check_agency(resolved, http, attempts)
        match = match or _by_client(resolved, attempts)
        match = match or await _probe(resolved, http, attempts)
        if match is not None:
            try:
                pinned = pin_version(match.adapter, match.ref, version)
            except VersionNotSupported as exc:  # --explain still shows what matched
                _attach(exc, meter.discovery(match.layer, match.adapter.name, match.reason, resolved, attempts))
                raise
            meter.list_start = http.requests
            manifest = await match.adapter.list_files(pinned, resolved, http)
            found = meter.discovery(match.layer, match.adapter.name, match.reason, resolved, attempts)
            return replace(manifest, discovery=found)
        meter.list_start = None
        for layer, target in GENERIC_LAYERS:
            adapter = _load_generic(target)
            ref = adapter.recognize(resolved)
            if ref is None:
                attempts.append(LayerAttempt(layer, False, "not applicable" if layer != "datacite-contentUrl"
                                             else "DataCite contentUrl is empty"))
                continue
            before = http.requests
            try:
                manifest = await adapter.list_files(ref, resolved, http)
            except NoMatch as exc:
                attempts.append(LayerAttempt(layer, False, str(exc), http.requests - before))
                continue
            except Doi2DataError as exc:  # a broken linkset or page: the next layer may still work
                attempts.append(LayerAttempt(layer, False, f"failed: {exc}", http.requests - before))
                continue
            reason = manifest.discovery.reason if manifest.discovery else layer
            attempts.append(LayerAttempt(layer, True, reason, http.requests - before))
            if version is not None:
                refused = VersionNotSupported(
                    f"--version {version}: the files of {resolved.identifier} are found only through the generic "
                    f"{layer} layer, which knows no dataset versions; drop --version, or pass the DOI of the version "
                    "you want")
                _attach(refused, meter.discovery(layer, adapter.name, reason, resolved, attempts))
                raise refused
            meter.list_start = http.requests
            return replace(manifest, discovery=meter.discovery(layer, adapter.name, reason, resolved, attempts))
    except Doi2DataError as exc:
        _attach(exc, meter.discovery(None, None, str(exc), resolved, attempts))
        raise
    tried = "; ".join(f"{a.layer}: {a.detail}" for a in attempts)
    error = UnsupportedRepository(
        f"no adapter supports {resolved.landing_url} (for {resolved.identifier}); tried {tried}",
        identifier=resolved.identifier, url=resolved.landing_url)
    _attach(error, meter.discovery(None, None, "no layer matched", resolved, attempts))
    raise error


def explain_text(discovery: Discovery) -> str:
    """The ``--explain`` report: the layer that matched and why, every layer tried, the route, the count."""
    lines = []
    if discovery.layer:
        lines.append(f"explain: matched layer {discovery.layer} (adapter {discovery.adapter}): {discovery.reason}")
    else:
        lines.append("explain: no layer matched")
    if discovery.landing_url:
        lines.append(f"  landing page: {discovery.landing_url}")
    lines.append("  layers tried, cheapest first:")
    for a in discovery.attempts:
        cost = f" [{a.requests} request{'s' if a.requests != 1 else ''}]" if a.requests else ""
        lines.append(f"    {'+' if a.matched else '-'} {a.layer}: {a.detail}{cost}")
    if discovery.notes:
        lines.append("  adapter notes:")
        lines += [f"    {note}" for note in discovery.notes]
    lines.append("  route:")
    lines += [f"    {step}" for step in discovery.route]
    lines.append(f"  HTTP requests: {discovery.requests} (resolve {discovery.resolve_requests}, "
                 f"detect {discovery.detect_requests}, list {discovery.list_requests})")
    return "\n".join(lines)


__all__ = ["DATACITE_CLIENTS", "GENERIC_LAYERS", "PUBLISHERS", "PUBLISHER_HOSTS", "Match", "client_route",
           "discover", "explain_text", "is_publisher_host", "known_hosts", "parse_ra", "pin_version", "ref_for",
           "registration_agency"]
